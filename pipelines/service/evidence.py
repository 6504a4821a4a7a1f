"""Serving files from event folders: only files inside the event's own folder, which must
lie inside the data folder (paths are resolved, symlinks included, then checked), and only
once the event's evidence is complete. Every file served is written to the audit log."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import zipfile
from pathlib import Path

from fastapi import HTTPException, status

from pipelines.evidence.files import sha256_file
from pipelines.evidence.keys import key_path, load_or_create_key, public_key_pem
from pipelines.service.config import Settings
from pipelines.store import EventRecord, EventStore

log = logging.getLogger(__name__)

__all__ = [
    "EVIDENCE_FILES",
    "MEDIA_TYPES",
    "available_files",
    "build_export",
    "event_folder",
    "evidence_file",
    "file_sha256",
    "get_event_or_404",
]

ORIGINAL_EXTS = ("mp4", "mkv", "mov", "ts")
EVIDENCE_FILES = (*(f"original.{e}" for e in ORIGINAL_EXTS), "annotated.mp4", "snapshot.jpg",
                  "manifest.json", "event.json")
MEDIA_TYPES = {"mp4": "video/mp4", "mkv": "video/x-matroska", "mov": "video/quicktime",
               "ts": "video/mp2t", "jpg": "image/jpeg", "json": "application/json"}


def get_event_or_404(store: EventStore, event_id: str) -> EventRecord:
    ev = store.get_event(event_id)
    if ev is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no event {event_id!r}")
    return ev


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def event_folder(settings: Settings, ev: EventRecord) -> Path:
    """The event's evidence folder, resolved. 409 while its evidence is being written,
    404 when it has none, 403 when the stored folder lies outside the data folder."""
    if ev.status == "writing":
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"event {ev.id}: its evidence is still being written")
    if ev.status != "complete" or not ev.evidence_dir:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"event {ev.id}: no evidence (status {ev.status})")
    root = settings.data_dir.resolve()
    folder = (root / ev.evidence_dir).resolve()
    if folder == root or not _inside(folder, root):
        log.warning("event %s: evidence folder %r lies outside the data folder %s; refused",
                    ev.id, ev.evidence_dir, root)
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"event {ev.id}: evidence folder outside the data folder")
    if not folder.is_dir():
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"event {ev.id}: its evidence folder is missing")
    return folder


def evidence_file(folder: Path, name: str) -> Path:
    """``folder/name`` resolved; 403 when it leads outside ``folder`` (a symlink, ``..``),
    404 when it is not a regular file."""
    if name not in EVIDENCE_FILES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no evidence file {name!r}")
    path = (folder / name).resolve()
    if not path.is_relative_to(folder):
        log.warning("%s/%s resolves outside its event folder; refused", folder, name)
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"{name}: leads outside the event's folder")
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{name}: not in this event")
    return path


def available_files(settings: Settings, ev: EventRecord) -> list[str]:
    """The evidence files of a complete event that can be served (none otherwise)."""
    try:
        folder = event_folder(settings, ev)
    except HTTPException:
        return []
    out = []
    for name in EVIDENCE_FILES:
        p = (folder / name).resolve()
        if p.is_relative_to(folder) and p.is_file():
            out.append(name)
    return out


_hash_lock = threading.Lock()
_hash_cache: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, remembered by (path, size, mtime)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _hash_lock:
        hit = _hash_cache.get(key)
    if hit is not None:
        return hit
    digest = sha256_file(path)
    with _hash_lock:
        if len(_hash_cache) > 4096:
            _hash_cache.clear()
        _hash_cache[key] = digest
    return digest


VERIFY_NOTE = """\
Evidence of fallwatch event {event_id} (camera {camera_id}, {start_utc})

{folder}/ holds the files as the camera site recorded them:
  original.*     the untouched original clip (packets copied from the camera, not re-encoded)
  annotated.mp4  a copy with the trajectory drawn in
  snapshot.jpg   one picture with the whole trajectory
  event.json     the event as detected
  manifest.json  the sha256 of every file above, signed with the site's Ed25519 key

{key_line}

To check that nothing was altered, with fallwatch installed:

    fallwatch verify {folder} --public-key public_key.pem

It recomputes every file's sha256, compares them with manifest.json and checks the
signature over the manifest with the public key. Compare the key's fingerprint with the
one the site published (`fallwatch keys export` at the site prints the same key).
Without fallwatch: sha256sum each file and compare with the "files" list of manifest.json.
"""


def build_export(settings: Settings, ev: EventRecord, folder: Path) -> Path:
    """A zip of the event folder, the site's public key and a note on how to verify it,
    in a temporary file (the caller deletes it). Only regular files inside the folder go in."""
    pem: str | None = None
    if key_path(settings.home).exists():
        pem = public_key_pem(load_or_create_key(settings.home).public_key())
    key_line = ("public_key.pem is the site's public key."
                if pem else "The site's public key was not found on the server "
                "(ask the site for `fallwatch keys export`).")
    note = VERIFY_NOTE.format(event_id=ev.id, camera_id=ev.camera_id,
                              start_utc=ev.start_utc.isoformat(), folder=folder.name,
                              key_line=key_line)
    fd, tmp = tempfile.mkstemp(prefix="fallwatch-export-", suffix=".zip")
    os.close(fd)
    out = Path(tmp)
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(folder.iterdir()):
                real = p.resolve()
                if p.is_file() and real.is_relative_to(folder):
                    zf.write(real, f"{folder.name}/{p.name}")
            if pem:
                zf.writestr("public_key.pem", pem)
            zf.writestr("HOW_TO_VERIFY.txt", note)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out

