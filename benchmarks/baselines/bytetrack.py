"""Our blobs tracked by ultralytics' BYTETracker instead of our tracker.

Everything else is fallwatch's: the background model, the blobs, the fall physics, the
floor. Only ``Detector.tracker`` is swapped for an adapter that feeds each frame's blobs
to ``ultralytics.trackers.byte_tracker.BYTETracker`` as plain numpy detections (the blob
boxes in working pixels, score ``min(1, strength / 2)``, so every blob is a
high-confidence detection) with ultralytics' default ByteTrack settings, and hands the
tracks it drops (lost for more than ``track_buffer`` frames) to the physics as
``detector.tracking.Track`` (blob centroids, areas and contrasts of the matched blobs).

ultralytics is AGPL-3.0 and optional (the ``bench`` extra); it is imported lazily with
``YOLO_OFFLINE=1`` and ``YOLO_AUTOINSTALL=false`` so nothing is downloaded or installed.
"""

from __future__ import annotations

import os
import tempfile
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np

from benchmarks.baselines.methods import Frames, make_detector
from detector.blobs import Blobs
from detector.tracking import Track
from pipelines.camera import CameraFile

BYTETRACK_ARGS = {  # ultralytics' cfg/trackers/bytetrack.yaml defaults
    "track_high_thresh": 0.25,
    "track_low_thresh": 0.1,
    "new_track_thresh": 0.25,
    "track_buffer": 30,
    "match_thresh": 0.8,
    "fuse_score": True,
}


def _import_bytetracker() -> Any:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")
    os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(tempfile.gettempdir(), "fallwatch-yolo"))
    from ultralytics.trackers.byte_tracker import BYTETracker

    return BYTETracker


class _Detections:
    """What BYTETracker reads: ``xywh`` (N, 4) centre boxes, ``conf`` (N,), ``cls`` (N,),
    ``xyxy`` (N, 4), ``len`` and boolean-mask indexing."""

    def __init__(self, xywh: np.ndarray, conf: np.ndarray) -> None:
        self.xywh = xywh
        self.conf = conf
        self.cls = np.zeros(conf.shape[0], np.float32)

    @property
    def xyxy(self) -> np.ndarray:
        half = self.xywh[:, 2:] / 2
        return np.concatenate([self.xywh[:, :2] - half, self.xywh[:, :2] + half], axis=1)

    def __len__(self) -> int:
        return int(self.conf.shape[0])

    def __getitem__(self, mask: np.ndarray) -> _Detections:
        return _Detections(self.xywh[mask], self.conf[mask])


class ByteTrackAdapter:
    """Stands in for ``detector.tracking.Tracker``: ``step(blobs, t, blind)`` and ``finish()``
    return finished ``Track`` objects (working pixels); ``ids``, ``updated``,
    ``predictions``, ``histories`` and ``history`` are the other parts of the tracker the
    Detector reads."""

    def __init__(self) -> None:
        self.bt = _import_bytetracker()(SimpleNamespace(**BYTETRACK_ARGS))
        self.hist: dict[int, list[list[float]]] = {}  # id -> rows t, x, y, area, contrast, strength
        self.ids = np.zeros(0, np.int64)  # live track ids
        # this frame's matches: (M,) ids, hits, blob x, y, area (what crop capture reads)
        self.updated: tuple[np.ndarray, ...] = (np.zeros(0, np.int64), np.zeros(0, np.int32),
                                                np.zeros(0), np.zeros(0), np.zeros(0))

    def step(self, blobs: Blobs, t: float, blind: bool = False) -> list[Track]:
        n = len(blobs)
        xywh = np.stack([blobs.x0 + blobs.w / 2.0, blobs.y0 + blobs.h / 2.0,
                         blobs.w, blobs.h], axis=1).astype(np.float32) if n else \
            np.zeros((0, 4), np.float32)
        conf = np.minimum(1.0, blobs.strength / 2.0).astype(np.float32)
        rows = np.asarray(self.bt.update(_Detections(xywh, conf))).reshape(-1, 8)
        tids, idx = rows[:, 4].astype(np.int64), rows[:, 7].astype(np.intp)
        for tid, i in zip(tids.tolist(), idx.tolist(), strict=True):
            self.hist.setdefault(tid, []).append(
                [t, float(blobs.x[i]), float(blobs.y[i]), float(blobs.area[i]),
                 float(blobs.contrast[i]), float(blobs.strength[i])])
        hits = np.array([len(self.hist[tid]) for tid in tids.tolist()], np.int32)
        self.updated = (tids, hits, blobs.x[idx], blobs.y[idx], blobs.area[idx])
        alive = {s.track_id for s in self.bt.tracked_stracks} | {
            s.track_id for s in self.bt.lost_stracks}
        gone = [tid for tid in self.hist if tid not in alive]
        self.ids = np.array(sorted(tid for tid in self.hist if tid in alive), np.int64)
        return [self._track(tid) for tid in gone]

    def predictions(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """None: the Detector's recovery of weak detections near predicted positions is a
        feature of our tracker; with BYTETracker it gets no predictions to search around."""
        z = np.zeros(0)
        return np.zeros(0, np.intp), z, z, z

    def histories(self) -> list[list[list[float]]]:
        """Rows ``t, x, y, area, contrast, strength`` of every live track (the Detector
        asks whether a finished track retraces an older live one)."""
        return list(self.hist.values())

    def history(self, track_id: int) -> list[list[float]]:
        """Rows of the live track ``track_id`` (the Detector looks back along a young
        track)."""
        return self.hist[track_id]

    def finish(self) -> list[Track]:
        return [self._track(tid) for tid in list(self.hist)]

    def _track(self, tid: int) -> Track:
        a = np.asarray(self.hist.pop(tid), dtype=np.float64).reshape(-1, 6)
        return Track(id=tid, t=a[:, 0], x=a[:, 1], y=a[:, 2], area=a[:, 3], contrast=a[:, 4],
                     strength=a[:, 5])

    def __len__(self) -> int:
        return len(self.hist)


class ByteTrackOurBlobs:
    """fallwatch with ultralytics' BYTETracker in place of its own tracker."""

    name = "bytetrack_our_blobs"
    settings: ClassVar[dict[str, Any]] = {
        "tracker": "ultralytics BYTETracker, default bytetrack.yaml settings "
                   + ", ".join(f"{k}={v}" for k, v in BYTETRACK_ARGS.items()),
        "detections": "fallwatch blobs: box = blob bounding box (working px), "
                      "score = min(1, strength / 2)",
        "rest": "fallwatch background model, blobs, physics, floors unchanged",
    }

    def __init__(self) -> None:
        _import_bytetracker()  # the import (seconds) is not part of the timed runs

    def run(self, frames: Frames, fps: float, camera: CameraFile | None) -> list[dict[str, Any]]:
        if not frames:
            return []
        h, w = frames[0][1].shape
        det = make_detector(w, h, fps, camera)
        det.tracker = ByteTrackAdapter()  # type: ignore[assignment]
        events = []
        for t_s, luma in frames:
            events.extend(det.process(luma, t_s))
        events.extend(det.finish())
        return [ev.to_json() for ev in events]
