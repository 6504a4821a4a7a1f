"""Multi-object tracking of blobs with a batched constant-acceleration Kalman filter.

State per track (working pixels, seconds): ``[x, y, vx, vy, ax, ay]``; image ``y`` grows
downward, so a falling object has ``ay > 0``. A new track starts with the downward
acceleration prior given by the caller (from the facade calibration when there is one).

The filter math is stateless over stacked arrays (``mean`` (N, 6), ``cov`` (N, 6, 6));
:class:`Tracker` owns the columnar track table, the per-track detection histories and
its own id counter. Association is gated (Mahalanobis, plus a small minimum radius) and
solved with ``scipy.optimize.linear_sum_assignment``, established tracks first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from detector.blobs import Blobs
from detector.config import DetectorConfig

STATE = 6
_BIG = 1e9


# ---- stateless filter math ------------------------------------------------------------
def transition(dt: float) -> np.ndarray:
    """(6, 6) constant-acceleration transition for a step of ``dt`` seconds."""
    f1 = np.array([[1.0, dt, 0.5 * dt * dt], [0.0, 1.0, dt], [0.0, 0.0, 1.0]])
    f = np.zeros((STATE, STATE))
    for axis in range(2):
        idx = [axis, axis + 2, axis + 4]
        f[np.ix_(idx, idx)] = f1
    return f


def process_noise(dt: float, q: float) -> np.ndarray:
    """(6, 6) white-jerk process noise of spectral density ``q`` (px^2/s^5) over ``dt``."""
    q1 = q * np.array(
        [
            [dt**5 / 20, dt**4 / 8, dt**3 / 6],
            [dt**4 / 8, dt**3 / 3, dt**2 / 2],
            [dt**3 / 6, dt**2 / 2, dt],
        ]
    )
    out = np.zeros((STATE, STATE))
    for axis in range(2):
        idx = [axis, axis + 2, axis + 4]
        out[np.ix_(idx, idx)] = q1
    return out


@functools.lru_cache(maxsize=256)
def _step_matrices(dt: float, q: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F, F^T, Q) for a step of ``dt``: frame steps repeat, so they are built once
    (read-only; a handful of distinct steps per stream)."""
    f = transition(dt)
    got = (f, f.T, process_noise(dt, q))
    for a in got:
        a.flags.writeable = False
    return got


def predict(
    mean: np.ndarray, cov: np.ndarray, dt: float, q: float
) -> tuple[np.ndarray, np.ndarray]:
    """Propagate (N, 6) means and (N, 6, 6) covariances by ``dt`` seconds."""
    f, ft, qn = _step_matrices(float(dt), float(q))
    mean = mean @ ft
    cov = f @ cov @ ft + qn
    return mean, cov


def innovation(
    mean: np.ndarray, cov: np.ndarray, z: np.ndarray, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Squared Mahalanobis distances between N tracks and M measurements.

    Args:
        mean: (N, 6); cov: (N, 6, 6); z: (M, 2) measured ``[x, y]``; r: (M,) isotropic
            measurement variances (px^2).

    Returns:
        d2: (N, M) squared Mahalanobis distances; logdet: (N, M) ``log det S``;
        dist: (N, M) Euclidean distances (px).
    """
    dx = z[None, :, 0] - mean[:, None, 0]
    dy = z[None, :, 1] - mean[:, None, 1]
    a = cov[:, None, 0, 0] + r[None, :]
    b = cov[:, None, 0, 1] + 0.0 * r[None, :]
    c = cov[:, None, 1, 1] + r[None, :]
    det = np.maximum(a * c - b * b, 1e-12)
    d2 = (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det
    return d2, np.log(det), np.hypot(dx, dy)


def update(
    mean: np.ndarray, cov: np.ndarray, z: np.ndarray, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Kalman update of N tracks with their N measurements.

    Args:
        mean: (N, 6); cov: (N, 6, 6); z: (N, 2); r: (N,) measurement variances (px^2).
    """
    s = cov[:, :2, :2] + r[:, None, None] * np.eye(2)[None]
    k = cov[:, :, :2] @ np.linalg.inv(s)  # (N, 6, 2)
    resid = z - mean[:, :2]
    mean = mean + np.einsum("nij,nj->ni", k, resid)
    cov = cov - k @ cov[:, :2, :]
    cov = 0.5 * (cov + np.transpose(cov, (0, 2, 1)))
    return mean, cov


def _rows(blobs: Blobs, idx: np.ndarray) -> list[list[float]]:
    """``[x, y, area, contrast, strength]`` of the blobs ``idx`` as Python floats, for the
    track histories: one conversion of the lot instead of five ``float()`` per detection
    (the same values: every column is exact in float64)."""
    cols = (blobs.x, blobs.y, blobs.area, blobs.contrast, blobs.strength)
    rows: list[list[float]] = np.column_stack([c[idx] for c in cols]).tolist()
    return rows


# ---- tracks ----------------------------------------------------------------------------
@dataclass
class Track:
    """One finished track: its detections, in working pixels.

    Attributes:
        id: the tracker's id of the track.
        t: (n,) float64 times (s); x, y: (n,) float64 centroids (work px);
        area: (n,) float64 blob areas (work px); contrast: (n,) float64 signed contrasts;
        strength: (n,) float64 peak diff / threshold;
        left_frame: the track ended because it left the picture;
        aged: the track ended because it had been followed for ``max_track_s``;
        crops: (k, C, S, S) float32 appearance patches along the track (see
            :mod:`detector.pipeline`), or None when not captured;
        meta: context for a classifier (frame size, fps, the physics verdict), filled by
            the detector before the classifier sees the track.
    """

    id: int
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    area: np.ndarray
    contrast: np.ndarray
    strength: np.ndarray
    left_frame: bool = False
    aged: bool = False
    crops: np.ndarray | None = None
    meta: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.t.shape[0]
        for name in ("x", "y", "area", "contrast", "strength"):
            a = getattr(self, name)
            if a.shape != (n,):
                raise ValueError(f"Track.{name} has shape {a.shape}, expected ({n},)")

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def frames_spanned(self, fps: float) -> float:
        """How many frames at ``fps`` the track spans, first and last included: it was
        seen in ``len(self)`` of them."""
        return float(self.t[-1] - self.t[0]) * fps + 1.0


GravityPrior = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Maps (M,) work-px positions x, y to (M,) expected downward accelerations, work px/s^2."""


class Tracker:
    """Owns the table of live tracks; feed it one frame's blobs at a time.

    Args:
        size: (w, h) of the working image.
        fps: nominal frame rate (turns times into frame counts).
        config: detector configuration.
        gravity: expected downward acceleration at a position (px/s^2); default
            ``gravity_prior_hps2 * h`` everywhere.
    """

    def __init__(
        self,
        size: tuple[int, int],
        fps: float,
        config: DetectorConfig,
        gravity: GravityPrior | None = None,
    ) -> None:
        self.cfg = config
        self.w, self.h = size
        self.fps = float(fps)
        self.q = (config.jerk_sigma_hps3 * self.h) ** 2
        self.max_speed = config.max_speed_hps * self.h
        self.r0 = config.measurement_sigma**2
        self.max_missed = max(1, round(config.max_missed_s * fps))
        self.max_blind = round(config.max_blind_s * fps)
        g0 = config.gravity_prior_hps2 * self.h
        self.gravity: GravityPrior = gravity or (lambda x, y: np.full(x.shape, g0))
        self.accel_sigma = config.accel_sigma_hps2 * self.h
        self._next_id = 1
        self.t_last: float | None = None
        self.blind_run = 0
        # the columnar track table
        self.ids = np.zeros(0, np.int64)
        self.mean = np.zeros((0, STATE))
        self.cov = np.zeros((0, STATE, STATE))
        self.hits = np.zeros(0, np.int32)
        self.misses = np.zeros(0, np.int32)
        self.born = np.zeros(0, np.float64)
        self._hist: dict[int, list[tuple[float, float, float, float, float, float]]] = {}
        # tracks given a detection by the last step: ids (M,) int64, their hits so far (M,)
        # and the blobs' x, y, area (M,) float64 (work px), for appearance capture; some
        # may have ended in that step
        self.updated: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] = (
            np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0), np.zeros(0), np.zeros(0))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def predictions(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where the established tracks are expected at time ``t`` (nothing is changed).

        Returns:
            idx: (K,) rows of the track table; x, y: (K,) predicted centroids (work px);
            radius: (K,) 3-sigma radius of the predicted position (work px).
        """
        est = np.flatnonzero(self.hits >= self.cfg.confirm_hits)
        # bridge one weak frame at a time: the last detection must have been a real blob
        # (strength > 1), so a track never lives on noise picked up near its prediction
        real = np.array([self._hist[int(self.ids[i])][-1][5] > 1.0 for i in est.tolist()], bool)
        est = est[real] if est.size else est
        if est.size == 0 or self.t_last is None:
            z = np.zeros(0)
            return est, z, z, z
        dt = max(t - self.t_last, 1e-3)
        mean, cov = predict(self.mean[est], self.cov[est], dt, self.q)
        spread = np.sqrt(np.maximum(cov[:, 0, 0] + cov[:, 1, 1], 0.0))
        return est, mean[:, 0], mean[:, 1], 3.0 * spread + self.cfg.measurement_sigma

    def contrast_sign(self, rows: np.ndarray, last: int = 5) -> np.ndarray:
        """(K,) 1 where the last ``last`` detections of the tracks in table rows ``rows``
        were all brighter than the background, -1 all darker, 0 mixed (a cloth)."""
        out = np.zeros(rows.size, np.int8)
        for k, i in enumerate(rows.tolist()):
            c = np.array([p[4] for p in self._hist[int(self.ids[i])][-last:]])
            out[k] = 1 if (c > 0).all() else -1 if (c < 0).all() else 0
        return out

    def histories(self) -> list[list[tuple[float, float, float, float, float, float]]]:
        """The detections so far of every live track: rows ``(t, x, y, area, contrast,
        strength)``, oldest first (read-only views of the tracker's own lists)."""
        return list(self._hist.values())

    def history(
        self, track_id: int
    ) -> list[tuple[float, float, float, float, float, float]] | None:
        """The detections so far of the live track ``track_id`` (rows as in
        :meth:`histories`); None once it has ended (a track in :attr:`updated` may have
        ended in the same step: it left the picture with that detection)."""
        return self._hist.get(track_id)

    # -- per frame ---------------------------------------------------------------------
    def step(self, blobs: Blobs, t: float, blind: bool = False) -> list[Track]:
        """Advance to time ``t`` with this frame's blobs; return the tracks that ended.

        Args:
            blobs: this frame's blobs (work px).
            t: frame time, seconds.
            blind: the frame could not be looked at (global change): tracks coast
                without counting a miss, up to ``max_blind_s``.
        """
        dt = 1.0 / self.fps if self.t_last is None else max(t - self.t_last, 1e-3)
        self.t_last = t
        self.updated = (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0),
                        np.zeros(0), np.zeros(0))
        if len(self):
            self.mean, self.cov = predict(self.mean, self.cov, dt, self.q)
        if blind:
            self.blind_run += 1
            if self.blind_run <= self.max_blind:
                return self._end(self._leaving() | self._too_old(t), t)
            blobs = Blobs.empty()
        else:
            self.blind_run = 0

        matched_blob = np.zeros(len(blobs), bool)
        matched_track = np.zeros(len(self), bool)
        if len(self) and len(blobs):
            z = blobs.xy
            r = self.r0 + (0.15 * blobs.size) ** 2
            d2, logdet, dist = innovation(self.mean, self.cov, z, r)
            reach = self.max_speed * dt + 3.0 * self.cfg.measurement_sigma + self.cfg.gate_min_px
            ok = ((d2 <= self.cfg.gate_chi2) | (dist <= self.cfg.gate_min_px)) & (dist <= reach)
            # after a few missed frames the gate is wide: only a clear blob takes the track
            weak = blobs.strength < self.cfg.reacquire_strength
            if weak.any():
                ok &= ~((self.misses >= self.cfg.reacquire_misses)[:, None] & weak[None, :])
            cost = np.where(ok, d2 + logdet, _BIG)
            established = self.hits >= self.cfg.confirm_hits
            pairs_t: list[np.ndarray] = []
            pairs_b: list[np.ndarray] = []
            for group in (established, ~established):
                ti = np.flatnonzero(group)
                bi = np.flatnonzero(~matched_blob)
                if ti.size == 0 or bi.size == 0:
                    continue
                sub = cost[np.ix_(ti, bi)]
                if not (sub < _BIG).any():
                    continue
                rows, cols = linear_sum_assignment(sub)
                good = sub[rows, cols] < _BIG
                ta, ba = ti[rows[good]], bi[cols[good]]
                matched_blob[ba] = True
                matched_track[ta] = True
                pairs_t.append(ta)
                pairs_b.append(ba)
            if pairs_t:
                ta = np.concatenate(pairs_t)
                ba = np.concatenate(pairs_b)
                self.mean[ta], self.cov[ta] = update(self.mean[ta], self.cov[ta], z[ba], r[ba])
                self.hits[ta] += 1
                self.misses[ta] = 0
                self.updated = (self.ids[ta].copy(), self.hits[ta].copy(), blobs.x[ba],
                                blobs.y[ba], blobs.area[ba])
                rows = _rows(blobs, ba)
                for tid, (x, y, area, con, st) in zip(self.ids[ta].tolist(), rows, strict=True):
                    self._hist[tid].append((t, x, y, area, con, st))
        self.misses[~matched_track] += 1

        established = self.hits >= self.cfg.confirm_hits
        lost = np.where(established, self.misses > self.max_missed, self.misses > 1)
        ended = self._end(lost | self._leaving() | self._too_old(t), t)
        self._births(blobs, matched_blob, t)
        return ended

    def finish(self) -> list[Track]:
        """End every live track (end of the video)."""
        return self._end(np.ones(len(self), bool), self.t_last or 0.0)

    # -- internals ------------------------------------------------------------------------
    def _leaving(self) -> np.ndarray:
        m = self.cfg.edge_margin_px
        x, y = self.mean[:, 0], self.mean[:, 1]
        return (x < -m) | (y < -m) | (x > self.w - 1 + m) | (y > self.h - 1 + m)

    def _too_old(self, t: float) -> np.ndarray:
        return (t - self.born) > self.cfg.max_track_s

    def _end(self, which: np.ndarray, t: float) -> list[Track]:
        if not which.any():
            return []
        leaving = self._leaving()
        aged = self._too_old(t)
        out: list[Track] = []
        for i in np.flatnonzero(which).tolist():
            tid = int(self.ids[i])
            rows = self._hist.pop(tid)
            if len(rows) >= self.cfg.min_points:
                a = np.asarray(rows, dtype=np.float64)
                out.append(Track(tid, a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5],
                                 left_frame=bool(leaving[i]), aged=bool(aged[i])))
        keep = ~which
        self.ids, self.mean, self.cov = self.ids[keep], self.mean[keep], self.cov[keep]
        self.hits, self.misses, self.born = self.hits[keep], self.misses[keep], self.born[keep]
        return out

    def _births(self, blobs: Blobs, matched: np.ndarray, t: float) -> None:
        free = np.flatnonzero(~matched)
        if free.size == 0:
            return
        if matched.any():
            # a fragment right beside a blob already taken by a track is not a new object
            taken = blobs.xy[matched]
            d = np.hypot(blobs.x[free, None] - taken[None, :, 0],
                         blobs.y[free, None] - taken[None, :, 1])
            free = free[d.min(axis=1) > self.cfg.gate_min_px + 1.0]
        room = self.cfg.max_tracks - len(self)
        if room <= 0 or free.size == 0:
            return
        if free.size > room:
            free = free[np.argsort(-blobs.strength[free], kind="stable")[:room]]
        m = free.size
        x, y = blobs.x[free], blobs.y[free]
        mean = np.zeros((m, STATE))
        mean[:, 0], mean[:, 1] = x, y
        mean[:, 5] = self.gravity(x, y)
        r = self.r0 + (0.15 * blobs.size[free]) ** 2
        sv = 0.5 * self.max_speed
        cov = np.zeros((m, STATE, STATE))
        cov[:, 0, 0] = cov[:, 1, 1] = r
        cov[:, 2, 2] = cov[:, 3, 3] = sv * sv
        cov[:, 4, 4] = cov[:, 5, 5] = self.accel_sigma**2
        ids = np.arange(self._next_id, self._next_id + m, dtype=np.int64)
        self._next_id += m
        for tid, (bx, by, area, con, st) in zip(ids.tolist(), _rows(blobs, free), strict=True):
            self._hist[tid] = [(t, bx, by, area, con, st)]
        self.ids = np.concatenate([self.ids, ids])
        self.mean = np.concatenate([self.mean, mean])
        self.cov = np.concatenate([self.cov, cov])
        self.hits = np.concatenate([self.hits, np.ones(m, np.int32)])
        self.misses = np.concatenate([self.misses, np.zeros(m, np.int32)])
        self.born = np.concatenate([self.born, np.full(m, t)])
