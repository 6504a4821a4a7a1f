"""Looking back along a track for the part of the fall that was too faint to detect.

Under infrared the camera's illuminator lights what is near: an object released high
up is dim and only crosses the detection threshold as it comes closer, a second or two
into its fall. Its track then starts deep in the picture, already fast, and the physics
refuses it, as it must refuse rain near the lens and birds swooping in. A fall has a
part before its first detection: a faint blob of the same sign, moving along the
continuation of the track, back towards where it was released.

:class:`FrameHistory` keeps the last working images (one copy per frame). :func:`retrace`
walks back from a young track's first detection, frame by frame: it extrapolates the
earliest part of the track (a quadratic in time) and looks in a small disc around the
prediction for the strongest response, with the track's sign, of a box filter the size
of the object to the difference from the background. A point is taken where that
response reaches both ``retrace_snr`` times the robust spread of the surrounding window
and the level that the window's other pixels reach by chance in as many pixels as the
disc holds, ``MAX_CHANCE`` of the time (so rain, leaves and the heavy tails of
compressed noise ask for more). The walk stops when more than ``retrace_max_gap``
frames in a row give no point, or at the picture's edge. Each window is under two
thousand pixels.

Rain drops near the lens also come out of a faint distance, speeding up, and in rain the
frames offer faint blobs everywhere: the detector does not look back while clutter holds
its threshold raised (``retrace_max_clutter``). See ``Detector._look_back`` for when a
track is looked back along and how what is found is used.
"""

from __future__ import annotations

import cv2
import numpy as np

from detector.background import QUANT
from detector.config import DetectorConfig
from detector.tracking import Track
from detector.trajectory import median

MAX_CHANCE = 0.1
"""A frame gives a point only where the disc around the prediction would reach the bar by
chance at most this often (judged from the rest of its window)."""


class FrameHistory:
    """Ring buffer of the last working images (uint8, stabilised) and their times.

    Args:
        size: (w, h) of the working image.
        seconds: how far back it reaches; 0 keeps nothing.
        fps: nominal frame rate (sizes the buffer; a faster stream reaches less far).
    """

    def __init__(self, size: tuple[int, int], seconds: float, fps: float) -> None:
        self.w, self.h = size
        self.fps = float(fps)
        self.capacity = int(np.ceil(seconds * fps)) + 1 if seconds > 0 else 0
        self._frames: np.ndarray | None = None  # allocated on the first push
        self._t = np.full(self.capacity, -np.inf)
        self._head = 0

    def push(self, small: np.ndarray, t: float) -> None:
        """Keep a copy of the (h, w) working image taken at ``t`` seconds."""
        if self.capacity == 0:
            return
        if self._frames is None:
            self._frames = np.empty((self.capacity, self.h, self.w), np.uint8)
        np.copyto(self._frames[self._head], small)
        self._t[self._head] = t
        self._head = (self._head + 1) % self.capacity

    def before(self, t: float, since: float) -> list[tuple[float, np.ndarray]]:
        """Kept frames taken in ``[since, t)``, newest first, as (time, image)."""
        if self._frames is None:
            return []
        idx = np.flatnonzero((self._t < t - 1e-9) & (self._t >= since))
        idx = idx[np.argsort(-self._t[idx], kind="stable")]
        return [(float(self._t[i]), self._frames[i]) for i in idx.tolist()]


def _fit(t: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(deg + 1, 2) coefficients (highest power first) of x and y as polynomials in
    ``t - t[0]``: quadratic with six points or more, linear below."""
    deg = 2 if t.size >= 6 else 1
    v = np.vander(t - t[0], deg + 1)
    return np.linalg.solve(v.T @ v, v.T @ xy)  # normal equations: a few points, well posed


def retrace(track: Track, history: FrameHistory, background: np.ndarray,
            thresh: np.ndarray, cfg: DetectorConfig) -> Track | None:
    """What ``history`` shows of ``track``'s object before its first detection.

    Args:
        track: a young track (work px); its first 12 points steer the extrapolation.
        history: the kept working images.
        background: (h, w) uint16 background, x ``QUANT`` (what the frames are compared
            with).
        thresh: (h, w) uint16 per-pixel foreground threshold, x ``QUANT`` (only to express
            a found point's strength as the detector does: diff over threshold).
        cfg: ``retrace_s``, ``retrace_snr``, ``retrace_radius``, ``retrace_max_gap``,
            ``retrace_min_points``, ``min_hit_ratio``.

    Returns:
        The points found before the first detection, oldest first, as a track of their
        own (``track``'s id): at least ``retrace_min_points``, found in at least
        ``min_hit_ratio`` of the frames they span; None otherwise.
    """
    n0 = len(track)
    if n0 < 3 or history.capacity == 0:
        return None
    h, w = background.shape
    k = min(n0, 12)  # the earliest points steer the extrapolation
    ts, xs, ys = list(track.t[:k]), list(track.x[:k]), list(track.y[:k])
    sign = 1.0 if float(np.median(track.contrast[:k])) >= 0.0 else -1.0
    side = float(np.sqrt(max(float(np.median(track.area[:k])), 1.0)))
    box = 3 if side >= 1.7 else 1
    r_disc = cfg.retrace_radius
    pad = int(np.ceil(r_disc + cfg.retrace_max_gap)) + box + 8
    inv_q = np.float32(1.0 / QUANT)
    found: list[tuple[float, float, float, float, float, float]] = []
    gap = 0
    frames = history.before(float(track.t[0]), float(track.t[0]) - cfg.retrace_s)
    for t_k, img in frames:
        tt = np.asarray(ts)
        coef = _fit(tt, np.stack([xs, ys], axis=1))
        px, py = (float(v) for v in np.polyval(coef, t_k - tt[0]))
        if not (0.0 <= px <= w - 1 and 0.0 <= py <= h - 1):
            break
        cx, cy = round(px), round(py)
        x0, x1 = max(cx - pad, 0), min(cx + pad + 1, w)
        y0, y1 = max(cy - pad, 0), min(cy + pad + 1, h)
        d = img[y0:y1, x0:x1].astype(np.float32)
        d -= background[y0:y1, x0:x1].astype(np.float32) * inv_q
        d -= np.float32(median(d.ravel()))  # the local level (light drifting since)
        if box > 1:
            cv2.blur(d, (box, box), dst=d, borderType=cv2.BORDER_REFLECT)
        s = sign * d
        spread = max(1.4826 * median(np.abs(d).ravel()), 0.5 / box)
        gx = np.arange(x0, x1, dtype=np.float64)
        gy = np.arange(y0, y1, dtype=np.float64)
        r = r_disc + gap  # the prediction loosens with each frame missed
        disc = np.add.outer((gy - py) ** 2, (gx - px) ** 2) <= r * r
        sd = np.where(disc, s, -np.inf)
        j = int(np.argmax(sd))
        peak = float(sd.flat[j])
        # the bar: retrace_snr times the spread, and no lower than what the rest of the
        # window reaches by chance in as many pixels as the disc holds, MAX_CHANCE of the
        # time (rain, leaves, the heavy tails of compressed noise)
        rest = s[~disc]
        m = int(np.count_nonzero(disc))
        k_q = min(max(int(np.ceil(rest.size * MAX_CHANCE / max(m, 1))), 1), rest.size)
        chance = float(np.partition(rest, rest.size - k_q)[rest.size - k_q])
        bar = max(cfg.retrace_snr * spread, chance)
        if peak < bar:
            gap += 1
            if gap > cfg.retrace_max_gap:
                break
            continue
        jy, jx = divmod(j, x1 - x0)
        ya, yb = max(jy - 1, 0), min(jy + 2, y1 - y0)
        xa, xb = max(jx - 1, 0), min(jx + 2, x1 - x0)
        wgt = np.maximum(s[ya:yb, xa:xb] - 0.5 * peak, 0.0)
        tot = float(wgt.sum())
        bx = float((wgt.sum(axis=0) * gx[xa:xb]).sum()) / tot
        by = float((wgt.sum(axis=1) * gy[ya:yb]).sum()) / tot
        area = float(np.count_nonzero(sd >= 0.5 * peak))
        strength = abs(float(d[jy, jx])) * QUANT / max(float(thresh[y0 + jy, x0 + jx]), 1.0)
        found.append((t_k, bx, by, area, sign * peak, strength))
        ts.insert(0, t_k)
        xs.insert(0, bx)
        ys.insert(0, by)
        del ts[k:], xs[k:], ys[k:]
        gap = 0
    if len(found) < cfg.retrace_min_points:
        return None
    found.reverse()  # oldest first
    a = np.asarray(found, dtype=np.float64)
    spanned = (float(track.t[0]) - a[0, 0]) * history.fps  # frames before the first detection
    if len(found) < cfg.min_hit_ratio * spanned:
        return None
    return Track(id=track.id, t=a[:, 0], x=a[:, 1], y=a[:, 2], area=a[:, 3],
                 contrast=a[:, 4], strength=a[:, 5])
