"""Small file helpers shared by the evidence writer, ``verify`` and ``analyze``.

Times are written as DESIGN.md says: ISO 8601 UTC with milliseconds and a ``Z``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST",
    "PARTIAL_SUFFIX",
    "dumps",
    "folder_time",
    "format_utc",
    "fsync_dir",
    "fsync_path",
    "is_partial",
    "list_event_folders",
    "sha256_file",
    "write_bytes_atomic",
]

PARTIAL_SUFFIX = ".partial"
MANIFEST = "manifest.json"


def format_utc(t: datetime) -> str:
    """``2026-07-10T15:54:49.109Z``: ISO 8601 UTC with milliseconds."""
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def folder_time(t: datetime) -> str:
    """``20260710T155449.109Z``: UTC for folder names (sorts as time does)."""
    t = t.astimezone(UTC)
    return t.strftime("%Y%m%dT%H%M%S.") + f"{t.microsecond // 1000:03d}Z"


_FLAT_LIST = re.compile(r"\[\s+([-+0-9.eE]+(?:,\s+[-+0-9.eE]+)*)\s+\]")


def dumps(doc: Any) -> str:
    """JSON text, indented, with lists of numbers (trajectory points) on one line."""
    text = json.dumps(doc, indent=2)
    return _FLAT_LIST.sub(lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary name in the same folder, fsync, rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def fsync_path(path: Path) -> None:
    """Flush a written file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename inside it) to disk, where the OS allows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_partial(folder: Path) -> bool:
    """True for a folder still being written (``.NAME.partial``), or left by a crash."""
    return folder.name.startswith(".") or folder.name.endswith(PARTIAL_SUFFIX)


def list_event_folders(clips_dir: Path) -> list[Path]:
    """The complete event folders in ``clips_dir``, in time order per camera (name order).

    A folder counts when it has a ``manifest.json`` and is not a ``.NAME.partial`` folder
    left by a write in progress or a crash.
    """
    if not clips_dir.is_dir():
        return []
    return sorted(p for p in clips_dir.iterdir()
                  if p.is_dir() and not is_partial(p) and (p / MANIFEST).is_file())
