"""What a learned classifier sees of a candidate track: motion features and appearance crops.

Appearance: while a classifier (or a candidate collector) is attached, the detector asks
a :class:`CropRecorder` to cut a small patch around each blob that an established track
was given in this frame, from two working-resolution images: the luma and the signed
difference to the background. The patch side grows with the blob (``3 sqrt(area) + 6``
work px, 10 to 48) and is resampled to ``CROP`` px. A track keeps at most
``MAX_CROPS`` patches spread along it (every crop until full, then every other one is
dropped and the stride doubles), so memory is bounded however long the track lives.

Motion: :func:`motion_features` turns the track's detections into a fixed-length
vector: the trajectory resampled to ``N_STEPS`` instants and expressed relative to its
start, in units of the expected gravity at that place (so the same numbers suit 720p,
4K, near and far), speed and acceleration profiles, blob size, contrast and strength
profiles, and the physics verdict's summary numbers. numpy only: no torch here.
"""

from __future__ import annotations

import cv2
import numpy as np

from detector.background import SignedDiff
from detector.tracking import Track

CROP = 24  # side of a stored patch, px
CHANNELS = 2  # luma, signed difference to the background
MAX_CROPS = 16  # patches kept per track
N_CROPS = 8  # patches the classifier looks at (evenly spaced over those kept)
MAX_CROPS_PER_FRAME = 48  # cap on patches cut in one frame (the longest tracks first)
MIN_HITS = 3  # a track is cropped from its third detection on
N_STEPS = 16  # resampled trajectory length

# names of the scalar context features, in order (``Track.meta`` keys)
META_KEYS = ("calibrated", "physics_score", "accel_g", "fall_m", "fall_h", "residual",
             "inlier_frac", "left_frame")
N_MOTION = 9 * N_STEPS + 10 + len(META_KEYS)


class CropRecorder:
    """Bounded appearance patches of the live tracks of one detector.

    ``capture`` is called once per frame with the tracker's updates; ``take`` hands over
    (and forgets) the patches of a track that ended.
    """

    def __init__(self) -> None:
        self._crops: dict[int, list[np.ndarray]] = {}
        self._seen: dict[int, int] = {}  # detections offered so far, per track
        self._stride: dict[int, int] = {}
        self._frames = 0

    def capture(self, luma: np.ndarray, signed: np.ndarray | SignedDiff, ids: np.ndarray,
                hits: np.ndarray, x: np.ndarray, y: np.ndarray, area: np.ndarray,
                live: np.ndarray) -> None:
        """Cut patches for this frame's updated tracks.

        Args:
            luma: (h, w) uint8 working luma; signed: (h, w) float32 frame minus background,
                or a ``SignedDiff`` that computes it.
            ids, hits: (M,) updated track ids and their detection counts.
            x, y, area: (M,) the blobs they were given (work px).
            live: (L,) ids of every live track (patches of others are dropped now and then).
        """
        self._frames += 1
        if self._frames % 50 == 0 and self._crops:
            alive = set(live.tolist())
            for tid in [k for k in self._crops if k not in alive]:
                self._drop(tid)
        sel = np.flatnonzero(hits >= MIN_HITS)
        if sel.size == 0:
            return
        if sel.size > MAX_CROPS_PER_FRAME:
            sel = sel[np.argsort(-hits[sel], kind="stable")[:MAX_CROPS_PER_FRAME]]
        sides = np.clip(3.0 * np.sqrt(np.maximum(area[sel], 1.0)) + 6.0, 10.0, 48.0)
        for k, i in enumerate(sel.tolist()):
            tid = int(ids[i])
            n = self._seen.get(tid, 0)
            self._seen[tid] = n + 1
            stride = self._stride.get(tid, 1)
            if n % stride:
                continue
            side = round(float(sides[k]))
            centre = (float(x[i]), float(y[i]))
            a = cv2.getRectSubPix(luma, (side, side), centre)
            if isinstance(signed, SignedDiff):
                d = signed.patch(side, centre)
            else:
                d = cv2.getRectSubPix(signed, (side, side), centre)
            patch = np.empty((CHANNELS, CROP, CROP), np.float32)
            patch[0] = cv2.resize(a, (CROP, CROP), interpolation=cv2.INTER_LINEAR)
            patch[1] = cv2.resize(d, (CROP, CROP), interpolation=cv2.INTER_LINEAR)
            store = self._crops.setdefault(tid, [])
            store.append(patch)
            if len(store) >= MAX_CROPS:
                del store[1::2]
                self._stride[tid] = stride * 2

    def take(self, tid: int) -> np.ndarray | None:
        """(k, CHANNELS, CROP, CROP) float32 patches of track ``tid``, or None; forgets them."""
        store = self._crops.get(tid)
        self._drop(tid)
        if not store:
            return None
        return np.stack(store)

    def _drop(self, tid: int) -> None:
        self._crops.pop(tid, None)
        self._seen.pop(tid, None)
        self._stride.pop(tid, None)


def _resample(t: np.ndarray, v: np.ndarray, grid: np.ndarray) -> np.ndarray:
    return np.interp(grid, t, v)


def motion_features(track: Track) -> np.ndarray:
    """(N_MOTION,) float32 motion and context features of one track.

    Positions are in units of ``g_px`` (work px per (s^2 · g)), the expected downward
    acceleration at the track, so a free fall has a normalised acceleration near 1.
    Needs ``track.meta`` from the detector (``g_px``, ``fps`` and ``META_KEYS``;
    missing keys count as 0).
    """
    n = len(track)
    meta = track.meta
    g = float(meta.get("g_px", 0.0)) or 100.0
    t = track.t - track.t[0]
    dur = float(max(t[-1], 1e-3))
    grid = np.linspace(0.0, dur, N_STEPS)
    x = _resample(t, (track.x - track.x[0]) / g, grid)
    y = _resample(t, (track.y - track.y[0]) / g, grid)
    dt = grid[1] - grid[0]
    vx, vy = np.gradient(x, dt), np.gradient(y, dt)
    ax, ay = np.gradient(vx, dt), np.gradient(vy, dt)
    size = np.sqrt(np.maximum(track.area, 1.0))
    sz = _resample(t, size / max(float(np.median(size)), 1.0), grid)
    con = _resample(t, np.tanh(track.contrast / 40.0), grid)
    stren = _resample(t, np.log1p(np.maximum(track.strength, 0.0)), grid)
    # global quadratic fit: the acceleration the whole track shows (in g)
    deg = 2 if n >= 4 else 1
    cy = np.polyfit(t, (track.y - track.y[0]) / g, deg)
    cx = np.polyfit(t, (track.x - track.x[0]) / g, deg)
    fit_y = np.polyval(cy, t) - (track.y - track.y[0]) / g
    fit_x = np.polyval(cx, t) - (track.x - track.x[0]) / g
    fps = float(meta.get("fps", 25.0)) or 25.0
    span_frames = max(dur * fps + 1.0, 1.0)
    scalars = np.array([
        np.log(dur),
        np.log(n),
        min(n / span_frames, 1.0),
        2.0 * cy[0] if deg == 2 else 0.0,
        2.0 * cx[0] if deg == 2 else 0.0,
        np.log1p(np.sqrt(np.mean(fit_x**2 + fit_y**2)) * g),
        np.log(float(np.median(size))),
        np.log(max(float(size.max()) / max(float(size.min()), 1.0), 1.0)),
        float(np.std(np.diff(track.y)) / (np.mean(np.abs(np.diff(track.y))) + 1e-3)),
        np.log(g),
    ])
    ctx = np.array([float(meta.get(k, 0.0)) for k in META_KEYS])
    out = np.concatenate([x, y, vx / 3.0, vy / 3.0, np.clip(ax, -5, 5), np.clip(ay, -5, 5), sz,
                          con, stren, scalars, ctx])
    return np.nan_to_num(out, nan=0.0, posinf=10.0, neginf=-10.0).astype(np.float32)


def appearance(track: Track) -> np.ndarray:
    """(N_CROPS * CHANNELS, CROP, CROP) float32 normalised patches stacked into channels.

    Luma patches are centred on their own median and scaled by a robust spread; the
    difference patches are divided by 32 grey levels. A track without patches gives
    zeros.
    """
    out = np.zeros((N_CROPS, CHANNELS, CROP, CROP), np.float32)
    c = track.crops
    if c is not None and len(c):
        idx = np.linspace(0, len(c) - 1, N_CROPS).round().astype(np.intp)
        p = c[idx].astype(np.float32)
        lum = p[:, 0]
        med = np.median(lum.reshape(len(idx), -1), axis=1)[:, None, None]
        spread = np.percentile(np.abs(lum - med).reshape(len(idx), -1), 90, axis=1)
        out[:, 0] = (lum - med) / np.maximum(spread, 4.0)[:, None, None]
        out[:, 1] = np.clip(p[:, 1] / 32.0, -4.0, 4.0)
    return out.reshape(N_CROPS * CHANNELS, CROP, CROP)
