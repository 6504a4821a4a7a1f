"""Our detector and the classic motion baselines, behind one small interface.

- ``Ours``: ``detector.Detector`` exactly as ``fallwatch analyze`` builds it from the
  camera file (settings, calibration, exclusions).
- ``Mog2FullRes``: OpenCV MOG2 on the full-resolution luma (history 500, varThreshold 16,
  no shadows), a 3x3 opening, 8-connected components, a nearest-neighbour tracker
  (60 px gate) and a falling rule (>= 8 points, >= 70% of steps downward, >= 60 px of
  fall): how open-source projects usually do it.
- ``FrigateStyle``: frigate's kind of motion detector (frames shrunk to 100 px high, a
  running average with alpha 0.01, absolute difference, threshold 30), run at the full
  frame rate, components mapped back to input pixels, then the same tracker and rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import cv2
import numpy as np

from detector.classifier import TrackClassifier
from detector.pipeline import Detector
from pipelines.camera import CameraFile

log = logging.getLogger(__name__)

Frames = list[tuple[float, np.ndarray]]
"""A decoded video: ``(t_s, (H, W) uint8 luma)`` per frame."""


class Method(Protocol):
    """A detector under test: decoded frames + camera file in, analyze-style events out."""

    name: str
    settings: ClassVar[dict[str, Any]]

    def run(self, frames: Frames, fps: float, camera: CameraFile | None) -> list[dict[str, Any]]:
        """Events (analyze's JSON form) found in ``frames``."""
        ...


# -- ours -------------------------------------------------------------------------------------


def make_detector(width: int, height: int, fps: float, camera: CameraFile | None,
                  classifier: TrackClassifier | None = None) -> Detector:
    """A Detector configured from ``camera`` as ``pipelines.analyze.analyze_file`` does."""
    return Detector(
        width, height, fps,
        camera.detector if camera is not None else None,
        camera.calibration() if camera is not None else None,
        camera.exclude if camera is not None else (),
        classifier=classifier,
    )


class Ours:
    """fallwatch's own detector (default settings plus the camera file's)."""

    name = "fallwatch"
    settings: ClassVar[dict[str, Any]] = {
        "detector": "detector.pipeline.Detector with the camera file's settings"}

    def run(self, frames: Frames, fps: float, camera: CameraFile | None) -> list[dict[str, Any]]:
        if not frames:
            return []
        h, w = frames[0][1].shape
        det = make_detector(w, h, fps, camera)
        events = []
        for t_s, luma in frames:
            events.extend(det.process(luma, t_s))
        events.extend(det.finish())
        return [ev.to_json() for ev in events]


# -- the classic chain: motion mask -> components -> nearest neighbour -> falling rule --------


@dataclass
class _NNTrack:
    t: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    missed: int = 0


class NearestNeighbourTracker:
    """Greedy nearest-neighbour association within a gate; no motion model.

    Each frame, (track, detection) pairs closer than ``gate_px`` (from the track's last
    position) are taken in order of distance, one-to-one; a detection left over starts a
    track; a track unmatched for more than ``max_missed`` frames ends.
    """

    def __init__(self, gate_px: float = 60.0, max_missed: int = 3) -> None:
        self.gate_px = gate_px
        self.max_missed = max_missed
        self.live: list[_NNTrack] = []

    def step(self, t_s: float, x: np.ndarray, y: np.ndarray) -> list[_NNTrack]:
        """Feed one frame's (N,) detection centroids (input px); return the tracks that ended."""
        n_t = len(self.live)
        used_t = np.zeros(n_t, bool)
        used_d = np.zeros(x.shape[0], bool)
        if n_t and x.shape[0]:
            lx = np.array([tr.x[-1] for tr in self.live])
            ly = np.array([tr.y[-1] for tr in self.live])
            d = np.hypot(lx[:, None] - x[None, :], ly[:, None] - y[None, :])
            ti, di = np.nonzero(d <= self.gate_px)
            for k in np.argsort(d[ti, di], kind="stable"):
                a, b = ti[k], di[k]
                if used_t[a] or used_d[b]:
                    continue
                used_t[a] = used_d[b] = True
                tr = self.live[a]
                tr.t.append(t_s)
                tr.x.append(float(x[b]))
                tr.y.append(float(y[b]))
                tr.missed = 0
        ended: list[_NNTrack] = []
        keep: list[_NNTrack] = []
        for i, tr in enumerate(self.live):
            if not used_t[i]:
                tr.missed += 1
            (ended if tr.missed > self.max_missed else keep).append(tr)
        for b in np.flatnonzero(~used_d):
            keep.append(_NNTrack([t_s], [float(x[b])], [float(y[b])]))
        self.live = keep
        return ended

    def finish(self) -> list[_NNTrack]:
        out, self.live = self.live, []
        return out


@dataclass(frozen=True)
class FallingRule:
    """A track falls when it has >= ``min_points`` points, at least ``min_down_share`` of
    its steps go down (y grows) and its last point is >= ``min_fall_px`` below its first."""

    min_points: int = 8
    min_down_share: float = 0.7
    min_fall_px: float = 60.0

    def __call__(self, tr: _NNTrack) -> bool:
        if len(tr.t) < self.min_points:
            return False
        dy = np.diff(np.asarray(tr.y))
        fall = tr.y[-1] - tr.y[0]
        return bool((dy > 0).mean() >= self.min_down_share and fall >= self.min_fall_px)


def _event(tr: _NNTrack, k: int, camera: CameraFile | None) -> dict[str, Any]:
    """analyze's JSON form; the origin is the first point, its floor from the calibration."""
    floor = None
    cal = camera.calibration() if camera is not None else None
    if cal is not None:
        floor = int(cal.floor_at([[tr.x[0], tr.y[0]]])[0])
    return {
        "id": f"{tr.t[0]:.2f}-{k}",
        "start_s": round(tr.t[0], 3),
        "end_s": round(tr.t[-1], 3),
        "score": 1.0,
        "trajectory": [[round(t, 3), round(x, 1), round(y, 1)]
                       for t, x, y in zip(tr.t, tr.x, tr.y, strict=True)],
        "origin": {"t_s": round(tr.t[0], 3), "x_px": round(tr.x[0], 1),
                   "y_px": round(tr.y[0], 1), "floor": floor},
    }


def _components(mask: np.ndarray, max_n: int) -> tuple[np.ndarray, np.ndarray]:
    """(N,) x and (N,) y centroids of the 8-connected components of a (H, W) uint8 mask,
    at most ``max_n`` of them (the largest)."""
    n, _labels, stats, cent = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return np.zeros(0), np.zeros(0)
    area, cent = stats[1:, cv2.CC_STAT_AREA], cent[1:]
    if area.shape[0] > max_n:
        keep = np.argsort(-area, kind="stable")[:max_n]
        cent = cent[keep]
    return cent[:, 0].astype(np.float64), cent[:, 1].astype(np.float64)


class _ClassicChain:
    """Motion mask -> components -> nearest-neighbour tracker -> falling rule."""

    name = "classic"
    max_components = 300
    settings: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.rule = FallingRule()

    def _reset(self, width: int, height: int) -> None:
        raise NotImplementedError

    def _detect(self, luma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) x and (N,) y centroids in input px of one (H, W) luma frame's motion."""
        raise NotImplementedError

    def run(self, frames: Frames, fps: float, camera: CameraFile | None) -> list[dict[str, Any]]:
        if not frames:
            return []
        h, w = frames[0][1].shape
        self._reset(w, h)
        tracker = NearestNeighbourTracker(gate_px=60.0, max_missed=3)
        falls: list[_NNTrack] = []
        for t_s, luma in frames:
            x, y = self._detect(luma)
            falls.extend(tr for tr in tracker.step(t_s, x, y) if self.rule(tr))
        falls.extend(tr for tr in tracker.finish() if self.rule(tr))
        falls.sort(key=lambda tr: tr.t[0])
        return [_event(tr, k, camera) for k, tr in enumerate(falls)]


_CHAIN_SETTINGS = {
    "components": "8-connected, at most 300 per frame (largest kept)",
    "tracker": "greedy nearest neighbour, 60 px gate (input px), ends after 3 missed frames",
    "falling_rule": ">= 8 points, >= 70% of steps downward, last point >= 60 px below first",
    "origin": "first point of the track; floor from the camera's facade calibration",
}


class Mog2FullRes(_ClassicChain):
    """OpenCV MOG2 at full resolution + 3x3 opening + components + NN tracker + rule."""

    name = "mog2_fullres"
    settings: ClassVar[dict[str, Any]] = {
        "background": "cv2 MOG2 on the full-resolution luma: history 500, varThreshold 16, "
                      "detectShadows False, default learning rate",
        "morphology": "opening, 3x3 rectangle",
        **_CHAIN_SETTINGS,
    }

    def _reset(self, width: int, height: int) -> None:
        self.sub = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16,
                                                      detectShadows=False)
        self.kernel = np.ones((3, 3), np.uint8)

    def _detect(self, luma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fg = self.sub.apply(luma)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self.kernel)
        return _components(fg, self.max_components)


class FrigateStyle(_ClassicChain):
    """Frames shrunk to 100 px high, running average (alpha 0.01), absdiff, threshold 30."""

    name = "frigate_style"
    settings: ClassVar[dict[str, Any]] = {
        "motion": "luma shrunk to 100 px high (INTER_LINEAR), running average alpha 0.01 "
                  "(cv2.accumulateWeighted, seeded with the first frame), absdiff against the "
                  "average before it takes the frame, threshold 30; every frame "
                  "(frigate itself samples 5 fps)",
        **_CHAIN_SETTINGS,
        "coordinates": "component centroids scaled back to input pixels before tracking",
    }
    height_px = 100
    alpha = 0.01
    threshold = 30

    def _reset(self, width: int, height: int) -> None:
        self.small = (max(1, round(width * self.height_px / height)), self.height_px)
        self.scale = height / self.height_px
        self.avg: np.ndarray | None = None

    def _detect(self, luma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small = cv2.resize(luma, self.small, interpolation=cv2.INTER_LINEAR)
        if self.avg is None:
            self.avg = small.astype(np.float32)
            return np.zeros(0), np.zeros(0)
        diff = cv2.absdiff(small, cv2.convertScaleAbs(self.avg))
        cv2.accumulateWeighted(small, self.avg, self.alpha)
        _, mask = cv2.threshold(diff, self.threshold, 255, cv2.THRESH_BINARY)
        x, y = _components(mask, self.max_components)
        return (x + 0.5) * self.scale - 0.5, (y + 0.5) * self.scale - 0.5
