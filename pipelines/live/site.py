"""The site file of ``fallwatch watch``: the cameras to watch and how.

```yaml
cameras:                         # camera files (paths relative to this file) or inline ones
  - cameras/tower-3-east.yaml
  - id: tower-3-west
    source: rtsp://user:pass@10.0.0.8/stream1
data: /var/lib/fallwatch         # optional; --data wins
database_url: null               # optional; --database-url wins (default: SQLite under data)
webhook: https://alerts.example/fallwatch     # optional; --webhook wins
mqtt: broker.local:1883          # optional; --mqtt wins
retention: {max_age_days: 30, quota_bytes: 200000000000, min_free_bytes: 5000000000}
live: {stall_timeout_s: 5, max_lag_s: 2}      # LiveSettings, for every camera
```

Every camera of a site needs a ``source`` and a distinct ``id``; unknown keys are errors that
name the key and the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipelines.camera import CameraFile, describe_validation_error, load_camera, parse_camera
from pipelines.errors import CameraFileError
from pipelines.store.retention import RetentionPolicy

__all__ = ["LiveSettings", "SiteFile", "load_site"]


class LiveSettings(BaseModel):
    """How each camera's stream is read and its worker watched.

    ``stall_timeout_s``: no packet or no frame for this long means the stream has stalled
    (reconnect). ``open_timeout_s``: connecting may take this long. Reconnection waits
    ``backoff_initial_s`` doubling to ``backoff_max_s``, times a jitter in [0.5, 1.5) drawn
    from ``seed``. ``max_lag_s``: the most the analysis may fall behind the stream; beyond
    half of it frames are decoded but not analysed, beyond it the packets up to the next
    keyframe are skipped (both counted as dropped). Workers report health every
    ``heartbeat_s``; one silent for ``heartbeat_timeout_s`` is killed and restarted. On
    shutdown workers get ``shutdown_timeout_s`` to finish their evidence, then are killed.
    ``preroll_s``/``postroll_s``: evidence clip span around the event; ``annotate_evidence``:
    also write the annotated clip and snapshot (a re-encode). ``fast_decode``: decode for
    analysis with ``skip_loop_filter=all`` as ``fallwatch analyze`` does (the evidence keeps
    the original packets). ``slow_frame_s``:
    extra seconds of work per analysed frame, to simulate a slower machine (tests,
    benchmarks; 0 in production).
    """

    model_config = ConfigDict(extra="forbid")

    stall_timeout_s: float = Field(default=5.0, gt=0)
    open_timeout_s: float = Field(default=10.0, gt=0)
    backoff_initial_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    max_lag_s: float = Field(default=2.0, gt=0)
    heartbeat_s: float = Field(default=1.0, gt=0)
    heartbeat_timeout_s: float = Field(default=30.0, gt=0)
    restart_backoff_s: float = Field(default=1.0, ge=0)
    shutdown_timeout_s: float = Field(default=30.0, gt=0)
    preroll_s: float = Field(default=5.0, ge=0)
    postroll_s: float = Field(default=3.0, ge=0)
    slow_frame_s: float = Field(default=0.0, ge=0)
    annotate_evidence: bool = True
    fast_decode: bool = True
    seed: int = 0


class SiteFile(BaseModel):
    """A validated site file; ``cameras`` are full camera files."""

    model_config = ConfigDict(extra="forbid")

    cameras: list[CameraFile] = Field(min_length=1)
    data: Path | None = None
    database_url: str | None = None
    webhook: str | None = None
    mqtt: str | None = None
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy)
    live: LiveSettings = Field(default_factory=LiveSettings)


def parse_site(data: Any, origin: Path) -> SiteFile:
    """Validate a site mapping read from ``origin`` (camera paths are relative to it)."""
    if not isinstance(data, dict):
        raise CameraFileError(f"{origin}: expected a mapping of site keys, got "
                              f"{type(data).__name__}")
    entries = data.get("cameras")
    if not isinstance(entries, list) or not entries:
        raise CameraFileError(f"{origin}: 'cameras' must list at least one camera (a camera "
                              "file path or an inline camera)")
    cameras: list[CameraFile] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            path = Path(entry)
            try:
                cameras.append(load_camera(path if path.is_absolute() else origin.parent / path))
            except CameraFileError as exc:
                raise CameraFileError(f"{origin}: cameras[{i}]: {exc}") from None
        else:
            cameras.append(parse_camera(entry, f"{origin}: cameras[{i}]"))
    seen: set[str] = set()
    for i, cam in enumerate(cameras):
        if cam.id in seen:
            raise CameraFileError(f"{origin}: cameras[{i}]: camera id '{cam.id}' is used twice "
                                  "(expected distinct ids)")
        seen.add(cam.id)
        if not cam.source:
            raise CameraFileError(f"{origin}: camera '{cam.id}' has no 'source' (expected the "
                                  "URL of its stream, e.g. rtsp://host/stream1)")
    try:
        site = SiteFile.model_validate({**data, "cameras": []} | {"cameras": cameras})
    except ValidationError as e:
        raise CameraFileError(f"{origin}: {describe_validation_error(e)}") from None
    return site


def load_site(path: str | Path) -> SiteFile:
    """Read and validate a site file; raises ``CameraFileError`` naming the file and key."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CameraFileError(f"{p}: site file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CameraFileError(f"{p}: cannot read the site file: {e}") from None
    except yaml.YAMLError as e:
        raise CameraFileError(f"{p}: not valid YAML: {e}") from None
    return parse_site(data, p)
