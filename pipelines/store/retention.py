"""Retention of evidence: by age, by size quota, by the disk's free space; oldest first.

An event on legal hold is never deleted, and neither is one whose evidence is still being
written. Deleting an event renames its folder aside (``.deleting-NAME``), removes the row,
then removes the folder, so a crash midway never leaves a listed event without evidence.
Unfinished folders a crash left behind (hidden: ``.NAME.partial``, ``.deleting-NAME``) go
after an hour.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipelines.store.db import EventRecord, EventStore, StoreError

log = logging.getLogger(__name__)

__all__ = [
    "RetentionPolicy",
    "RetentionReport",
    "apply_retention",
    "delete_event_with_evidence",
    "folder_bytes",
]


class RetentionPolicy(BaseModel):
    """``max_age_days``: delete older evidence (None: keep by age); ``quota_bytes``: keep the
    evidence under this total (None: no quota); ``min_free_bytes``: delete the oldest while
    the data folder's disk has less free space (None: no floor)."""

    model_config = ConfigDict(extra="forbid")

    max_age_days: float | None = Field(default=30.0, gt=0)
    quota_bytes: int | None = Field(default=None, gt=0)
    min_free_bytes: int | None = Field(default=None, ge=0)
    interval_s: float = Field(default=600.0, gt=0)


@dataclass
class RetentionReport:
    deleted: list[str]
    freed_bytes: int
    kept_on_hold: int


def folder_bytes(path: Path) -> int:
    """Total size of the files under ``path`` (0 when it does not exist)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                pass
    return total


def delete_event_with_evidence(store: EventStore, data_dir: str | Path, event_id: str) -> int:
    """Delete an event's row and its evidence folder; returns the bytes freed.

    Raises ``StoreError`` for an unknown event or one on legal hold (its folder is left
    exactly where it was)."""
    ev = store.get_event(event_id)
    if ev is None:
        raise StoreError(f"{store.label}: no event {event_id!r}")
    return _delete(store, Path(data_dir), ev)


def _delete(store: EventStore, data_dir: Path, ev: EventRecord) -> int:
    size = ev.evidence_bytes
    folder: Path | None = None
    aside: Path | None = None
    if ev.evidence_dir:
        folder = data_dir / ev.evidence_dir
        if folder.exists():
            aside = folder.with_name(f".deleting-{folder.name}")
            os.replace(folder, aside)
    try:
        store.delete_event(ev.id)  # refuses an event put on hold meanwhile
    except StoreError:
        if aside is not None and folder is not None:
            os.replace(aside, folder)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return size


def apply_retention(
    store: EventStore,
    data_dir: str | Path,
    policy: RetentionPolicy,
    now: datetime | None = None,
    free_bytes: Callable[[Path], int] | None = None,
) -> RetentionReport:
    """Delete what ``policy`` says must go, oldest first; never an event on legal hold nor
    one still being written. ``free_bytes(data_dir)`` gives the disk's free space (default:
    ``shutil.disk_usage``). Returns the ids deleted."""
    root = Path(data_dir)
    now = now or datetime.now(UTC)
    measure = free_bytes or (lambda p: shutil.disk_usage(p).free)
    candidates = [e for e in store.list_events(newest_first=False)
                  if not e.legal_hold and e.status != "writing"]
    held = store.count_events() - len(candidates)
    deleted: list[str] = []
    freed = 0

    def drop(ev: EventRecord, why: str) -> None:
        nonlocal freed
        try:
            freed += _delete(store, root, ev)
        except StoreError as exc:  # put on hold (or deleted) since it was listed
            log.info("retention: kept event %s: %s", ev.id, exc)
            return
        deleted.append(ev.id)
        log.info("retention: deleted event %s (%s, %d bytes)", ev.id, why, ev.evidence_bytes)

    if policy.max_age_days is not None:
        cutoff = now - timedelta(days=policy.max_age_days)
        while candidates and candidates[0].start_utc < cutoff:
            drop(candidates.pop(0), f"older than {policy.max_age_days:g} days")
    if policy.quota_bytes is not None:
        total = store.evidence_bytes()
        while candidates and total > policy.quota_bytes:
            ev = candidates.pop(0)
            total -= ev.evidence_bytes
            drop(ev, f"evidence over the quota of {policy.quota_bytes} bytes")
    if policy.min_free_bytes is not None:
        free = measure(root)
        while candidates and free < policy.min_free_bytes:
            ev = candidates.pop(0)
            free += ev.evidence_bytes
            drop(ev, f"free space under {policy.min_free_bytes} bytes")
        if free < policy.min_free_bytes:
            log.warning("retention: %s has %d bytes free, under the floor of %d, and nothing "
                        "more may be deleted (%d events on hold or being written)",
                        root, free, policy.min_free_bytes, held)
    freed += _sweep_leftovers(root, now)
    return RetentionReport(deleted, freed, held)


LEFTOVER_AGE_S = 3600.0


def _sweep_leftovers(root: Path, now: datetime) -> int:
    """Remove hidden folders under ``root/evidence/<camera>/`` (``.NAME.partial`` left by a
    crash mid-write, ``.deleting-NAME`` by a crash mid-deletion) untouched for an hour."""
    freed = 0
    for folder in root.glob("evidence/*/.*"):
        try:
            age = now.timestamp() - folder.stat().st_mtime
        except OSError:
            continue
        if folder.is_dir() and age > LEFTOVER_AGE_S:
            size = folder_bytes(folder)
            shutil.rmtree(folder, ignore_errors=True)
            freed += size
            log.info("retention: removed %s, left unfinished %.0f s ago", folder, age)
    return freed
