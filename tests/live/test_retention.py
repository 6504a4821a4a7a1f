"""Retention on real evidence folders: by age, by quota, by free space; never a held event."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.store import (
    EventStore,
    RetentionPolicy,
    StoreError,
    apply_retention,
    delete_event_with_evidence,
)
from tests.live.test_store import T0, make_event

MB = 1_000_000


def _fill(store: EventStore, data: Path, n: int, size: int = MB) -> list[str]:
    """``n`` complete events a minute apart (oldest first), each with ``size`` bytes of
    evidence on disk."""
    ids = []
    for i in range(n):
        ev = make_event(i)
        folder = data / ev.evidence_dir  # type: ignore[operator]
        folder.mkdir(parents=True)
        (folder / "original.mp4").write_bytes(bytes(size - 100))
        (folder / "event.json").write_bytes(b"{" + b" " * 98 + b"}")
        store.add_event(ev)
        store.complete_event(ev.id, ev.evidence_dir or "", size)
        ids.append(ev.id)
    return ids


def test_quota_deletes_oldest_unheld_first_and_keeps_held(store: EventStore,
                                                          tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = _fill(store, data, 6)
    store.set_legal_hold(ids[0])  # the oldest, on hold
    store.set_legal_hold(ids[2])
    report = apply_retention(store, data, RetentionPolicy(max_age_days=None,
                                                          quota_bytes=int(3.5 * MB)))
    # 6 MB over a 3.5 MB quota: the three oldest unheld go (1, 3, 4), leaving 0, 2, 5
    assert report.deleted == [ids[1], ids[3], ids[4]]
    assert report.freed_bytes == 3 * MB
    left = {e.id for e in store.list_events()}
    assert left == {ids[0], ids[2], ids[5]}
    for i, ev_id in enumerate(ids):
        assert (data / "evidence" / "tower-3" / ev_id).exists() == (ev_id in left), i
    assert not list((data / "evidence" / "tower-3").glob(".deleting-*"))


def test_quota_never_deletes_held_events_even_when_still_over(store: EventStore,
                                                              tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = _fill(store, data, 3)
    for ev_id in ids:
        store.set_legal_hold(ev_id)
    report = apply_retention(store, data, RetentionPolicy(max_age_days=None, quota_bytes=MB))
    assert report.deleted == [] and report.kept_on_hold == 3
    assert store.count_events() == 3


def test_max_age_deletes_older_events_only(store: EventStore, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = _fill(store, data, 4)  # start times T0, T0+1 min, ...
    now = T0 + timedelta(days=2, minutes=1, seconds=30)  # ids[0] and ids[1] are over 2 days
    report = apply_retention(store, data, RetentionPolicy(max_age_days=2), now=now)
    assert report.deleted == ids[:2]
    assert {e.id for e in store.list_events()} == set(ids[2:])


def test_free_space_floor_deletes_oldest_until_enough_is_free(store: EventStore,
                                                              tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = _fill(store, data, 4)
    store.set_legal_hold(ids[1])
    # a disk with 1.5 MB free and a 3 MB floor: two unheld events (1 MB each) must go
    report = apply_retention(store, data, RetentionPolicy(max_age_days=None,
                                                          min_free_bytes=3 * MB),
                             free_bytes=lambda _p: int(1.5 * MB))
    assert report.deleted == [ids[0], ids[2]]
    assert {e.id for e in store.list_events()} == {ids[1], ids[3]}


def test_events_being_written_are_not_deleted(store: EventStore, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = _fill(store, data, 1, size=2 * MB)
    store.add_event(make_event(5))  # still "writing"
    report = apply_retention(store, data, RetentionPolicy(max_age_days=None, quota_bytes=1))
    assert report.deleted == ids
    assert [e.status for e in store.list_events()] == ["writing"]


def test_deleting_a_held_event_leaves_its_folder_in_place(store: EventStore,
                                                          tmp_path: Path) -> None:
    data = tmp_path / "data"
    held, free = _fill(store, data, 2)
    store.set_legal_hold(held)
    with pytest.raises(StoreError, match="legal hold"):
        delete_event_with_evidence(store, data, held)
    assert (data / "evidence" / "tower-3" / held / "original.mp4").is_file()
    assert store.get_event(held) is not None
    assert delete_event_with_evidence(store, data, free) == MB
    assert not (data / "evidence" / "tower-3" / free).exists()
    assert [p.name for p in (data / "evidence" / "tower-3").iterdir()] == [held]


def test_folders_left_unfinished_by_a_crash_are_swept_after_an_hour(store: EventStore,
                                                                    tmp_path: Path) -> None:
    data = tmp_path / "data"
    (kept,) = _fill(store, data, 1)
    cam = data / "evidence" / "tower-3"
    for name in (".tower-3_old.partial", ".deleting-tower-3_gone", ".tower-3_new.partial"):
        (cam / name).mkdir()
        (cam / name / "original.mp4").write_bytes(bytes(1000))
    old = (T0 - timedelta(hours=2)).timestamp()
    for name in (".tower-3_old.partial", ".deleting-tower-3_gone"):
        os.utime(cam / name, (old, old))
    apply_retention(store, data, RetentionPolicy(max_age_days=None), now=T0)
    assert sorted(p.name for p in cam.iterdir()) == [".tower-3_new.partial", kept]
