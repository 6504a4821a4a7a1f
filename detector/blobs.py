"""Blobs: the foreground regions of one frame, as columns of aligned numpy arrays.

Regions come from ``cv2.findContours`` on the (optionally dilated) foreground mask,
which costs a fraction of ``connectedComponentsWithStats``. Per-blob statistics are
gathered in one vectorised pass over fixed-size patches around the small regions (the
common case); only the few large ones are cut out one by one. The number of regions is
capped: past ``max_blobs`` the caller treats the frame as a global change, or as clutter
whose largest regions are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import cv2
import numpy as np

from detector.background import SignedDiff

_PATCH = 12  # regions whose box fits in PATCH x PATCH work px take the vectorised path
# a piece joined to a large blob (``merge_fragments``) is at most this many times its
# threshold: a small strong thing beside a big one (an insect at the lens passing a falling
# flowerpot) is a thing of its own
_PIECE_MAX_STRENGTH = 2.0


@dataclass
class Blobs:
    """N blobs of one frame, in working-image pixels.

    Attributes:
        x, y: (N,) float64 centroids weighted by how far each pixel exceeds half its threshold.
        x0, y0, w, h: (N,) int32 bounding boxes.
        area: (N,) int32 foreground pixels.
        contrast: (N,) float32 signed difference from the background at the strongest pixel
            (grey levels; > 0 brighter than the background).
        strength: (N,) float32 largest ``diff / threshold`` in the blob (> 1).
    """

    x: np.ndarray
    y: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    w: np.ndarray
    h: np.ndarray
    area: np.ndarray
    contrast: np.ndarray
    strength: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for name in _COLUMNS:
            a = getattr(self, name)
            if not isinstance(a, np.ndarray) or a.ndim != 1:
                raise ValueError(f"Blobs.{name} must be a 1-D numpy array, got {type(a).__name__}"
                                 f" of shape {getattr(a, 'shape', None)}")
            if n is None:
                n = a.shape[0]
            elif a.shape[0] != n:
                raise ValueError(f"Blobs.{name} has {a.shape[0]} rows, expected {n}")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, index: np.ndarray | slice) -> Blobs:
        """Select rows with a boolean mask, an index array or a slice."""
        return Blobs(**{name: getattr(self, name)[index] for name in _COLUMNS})

    @classmethod
    def empty(cls) -> Blobs:
        f64, i32, f32 = np.zeros(0, np.float64), np.zeros(0, np.int32), np.zeros(0, np.float32)
        return cls(f64, f64.copy(), i32, i32.copy(), i32.copy(), i32.copy(), i32.copy(), f32,
                   f32.copy())

    @classmethod
    def concat(cls, parts: list[Blobs]) -> Blobs:
        """The rows of several ``Blobs``, in order."""
        if not parts:
            return cls.empty()
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts])
                      for name in _COLUMNS})

    @property
    def xy(self) -> np.ndarray:
        """(N, 2) float64 centroids ``[x, y]``."""
        return np.stack([self.x, self.y], axis=1)

    @property
    def size(self) -> np.ndarray:
        """(N,) float64 characteristic size, ``sqrt(area)`` work px."""
        return np.sqrt(self.area.astype(np.float64))


# the field names, looked up once: ``dataclasses.fields`` on every Blobs made (several a
# frame) cost more than checking them
_COLUMNS = tuple(f.name for f in fields(Blobs))


def extract_blobs(
    mask: np.ndarray,
    diff: np.ndarray,
    thresh: np.ndarray,
    signed: np.ndarray | SignedDiff,
    *,
    max_blobs: int,
    min_area: int = 1,
    max_area: int = 1_000_000,
    merge_radius: int = 1,
    stats: dict[str, int] | None = None,
    keep_largest: bool = False,
    streak_len: float = 0.0,
    streak_width: float = 2.0,
    expected: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
) -> Blobs | None:
    """Blobs of a foreground mask, or None when there are more than ``max_blobs`` regions.

    Args:
        mask: (h, w) uint8 foreground (255 = foreground).
        diff: (h, w) non-negative difference from the background (any numeric dtype).
        thresh: (h, w) per-pixel threshold that made ``mask`` (same dtype as ``diff``).
        signed: (h, w) signed difference (its sign says brighter/darker): an array, or
            anything indexable like one (``detector.background.SignedDiff``).
        max_blobs: the cap on regions; more means a global change.
        min_area, max_area: bounds on foreground pixels per kept blob.
        merge_radius: pieces closer than this many pixels join one region.
        stats: if given, receives ``"regions"``, the number of regions found (streaks
            left out), and ``"streaks"``.
        keep_largest: past ``max_blobs``, keep the ``max_blobs`` regions with the largest
            boxes instead of returning None (clutter: specks of noise go first).
        streak_len: regions at least this long (box diagonal, px) and on average at most
            ``streak_width`` px wide are streaks (rain, a wire's edge), dropped before
            anything else; 0 keeps them.
        expected: called only when there are streaks: ``(x, y, radius)`` arrays of where
            tracks expect their object (work px). A streak whose box comes within the
            radius of one is kept: a small object merged with a thin trail (its own ghost,
            an edge) is still a detection.
    """
    if merge_radius > 0:
        k = np.ones((2 * merge_radius + 1, 2 * merge_radius + 1), np.uint8)
        grown = cv2.dilate(mask, k)
    else:
        grown = mask
    contours, _ = cv2.findContours(grown, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    n = len(contours)
    rects = np.array([cv2.boundingRect(c) for c in contours], dtype=np.int32).reshape(n, 4)
    streaks = 0
    if streak_len > 0 and n:
        long = np.hypot(rects[:, 2], rects[:, 3])
        cand = np.flatnonzero(long >= streak_len)
        if cand.size:
            # a region w px wide and L long, grown by merge_radius on each side, encloses
            # about (w + 2 r - 1) L px (the contour runs through its edge pixels' centres)
            area = np.array([cv2.contourArea(contours[i]) for i in cand.tolist()])
            thin = cand[area <= (streak_width + 2 * merge_radius - 1) * long[cand]]
            if thin.size and expected is not None:
                ex, ey, er = expected()
                if ex.size:
                    # distance from each expected point to each streak's box
                    r = rects[thin]
                    x0, x1 = r[:, None, 0], r[:, None, 0] + r[:, None, 2] - 1
                    y0, y1 = r[:, None, 1], r[:, None, 1] + r[:, None, 3] - 1
                    gx = np.maximum(np.maximum(x0 - ex[None, :], ex[None, :] - x1), 0)
                    gy = np.maximum(np.maximum(y0 - ey[None, :], ey[None, :] - y1), 0)
                    thin = thin[~(np.hypot(gx, gy) <= er[None, :]).any(axis=1)]
            if thin.size:
                streaks = int(thin.size)
                rects = np.delete(rects, thin, axis=0)
                n = len(rects)
    if stats is not None:
        stats["regions"] = n
        stats["streaks"] = streaks
    if n > max_blobs and not keep_largest:
        return None
    if n == 0:
        return Blobs.empty()
    if n > max_blobs:
        box = rects[:, 2] * rects[:, 3]
        rects = rects[np.sort(np.argsort(-box, kind="stable")[:max_blobs])]
        n = max_blobs
    x0, y0, bw, bh = rects[:, 0], rects[:, 1], rects[:, 2], rects[:, 3]
    hh, ww = mask.shape

    cx = np.zeros(n, np.float64)
    cy = np.zeros(n, np.float64)
    area = np.zeros(n, np.int32)
    contrast = np.zeros(n, np.float32)
    strength = np.zeros(n, np.float32)

    small = (bw <= _PATCH) & (bh <= _PATCH)
    si = np.flatnonzero(small)
    if si.size:
        ar = np.arange(_PATCH)
        ys = y0[si, None, None] + ar[None, :, None]
        xs = x0[si, None, None] + ar[None, None, :]
        valid = (ar[None, :, None] < bh[si, None, None]) & (ar[None, None, :] < bw[si, None, None])
        shape = (si.size, _PATCH, _PATCH)
        ys = np.broadcast_to(np.minimum(ys, hh - 1), shape)
        xs = np.broadcast_to(np.minimum(xs, ww - 1), shape)
        # by flat index: ``take`` from the raveled image costs a fifth of indexing it
        # with (ys, xs), and many frames have regions at its edges (clamped indices)
        flat = ys * ww + xs
        d = diff.ravel().take(flat).astype(np.float32)
        t = thresh.ravel().take(flat).astype(np.float32)
        fg = (mask.ravel().take(flat) > 0) & valid
        wgt = np.where(valid, np.maximum(d - 0.5 * t, 0.0), 0.0).reshape(si.size, -1)
        ratio = np.where(valid, d / np.maximum(t, 1e-6), 0.0).reshape(si.size, -1)
        wsum = wgt.sum(axis=1)
        wsum_safe = np.where(wsum > 0, wsum, 1.0)
        gx = xs.reshape(si.size, -1)
        gy = ys.reshape(si.size, -1)
        cx[si] = np.where(wsum > 0, (wgt * gx).sum(axis=1) / wsum_safe, x0[si] + (bw[si] - 1) / 2)
        cy[si] = np.where(wsum > 0, (wgt * gy).sum(axis=1) / wsum_safe, y0[si] + (bh[si] - 1) / 2)
        area[si] = fg.reshape(si.size, -1).sum(axis=1)
        peak = ratio.argmax(axis=1)
        strength[si] = ratio[np.arange(si.size), peak]
        contrast[si] = signed[gy[np.arange(si.size), peak], gx[np.arange(si.size), peak]]

    for i in np.flatnonzero(~small):
        sl = (slice(y0[i], y0[i] + bh[i]), slice(x0[i], x0[i] + bw[i]))
        d, t, m = diff[sl].astype(np.float32), thresh[sl].astype(np.float32), mask[sl]
        wgt = np.maximum(d - 0.5 * t, 0.0)
        wsum = float(wgt.sum())
        gy, gx = np.mgrid[sl]
        if wsum > 0:
            cx[i] = float((wgt * gx).sum()) / wsum
            cy[i] = float((wgt * gy).sum()) / wsum
        else:
            cx[i] = x0[i] + (bw[i] - 1) / 2
            cy[i] = y0[i] + (bh[i] - 1) / 2
        area[i] = int(np.count_nonzero(m))
        ratio = d / np.maximum(t, 1e-6)
        pk = np.unravel_index(int(ratio.argmax()), ratio.shape)
        strength[i] = ratio[pk]
        contrast[i] = signed[y0[i] + pk[0], x0[i] + pk[1]]

    keep = (area >= min_area) & (area <= max_area)
    blobs = Blobs(cx, cy, x0, y0, bw, bh, area, contrast, strength)
    return blobs[keep]


def merge_fragments(blobs: Blobs, gap_frac: float, min_side: int) -> Blobs:
    """Join the pieces of one large object: a cloth or a bag many pixels across, faint
    against the facade, crosses the threshold in patches a few pixels apart.

    A blob at least ``min_side`` px wide or tall takes in every smaller, faint (strength
    at most ``_PIECE_MAX_STRENGTH``) blob of its sign (brighter or darker than the
    background) whose box lies within ``gap_frac`` of its box's longer side; groups join
    transitively. The joined blob's centroid is the pieces' area-weighted mean, its box
    their union, its area their sum; contrast and strength are the strongest piece's.
    Only the few large blobs are compared with the others: (large, all) arrays."""
    n = len(blobs)
    if n < 2 or gap_frac <= 0:
        return blobs
    side = np.maximum(blobs.w, blobs.h)
    big = np.flatnonzero(side >= min_side)
    if big.size == 0:
        return blobs
    x0, y0 = blobs.x0.astype(np.int64), blobs.y0.astype(np.int64)
    x1, y1 = x0 + blobs.w - 1, y0 + blobs.h - 1
    gx = np.maximum(np.maximum(x0[None, :] - x1[big, None], x0[big, None] - x1[None, :]), 0)
    gy = np.maximum(np.maximum(y0[None, :] - y1[big, None], y0[big, None] - y1[None, :]), 0)
    bright = blobs.contrast > 0
    near = ((np.maximum(gx, gy) <= gap_frac * side[big, None])
            & (bright[big, None] == bright[None, :])
            # pieces, not a second object (nor the blob itself)
            & (blobs.area[None, :] < blobs.area[big, None])
            & (blobs.strength[None, :] <= _PIECE_MAX_STRENGTH))
    if not near.any():
        return blobs
    # groups over the few pairs (union-find); the rest pass through as they are
    parent: dict[int, int] = {}

    def root(k: int) -> int:
        while parent.get(k, k) != k:
            k = parent[k]
        return k

    bi, bj = np.nonzero(near)
    for p, q in zip(big[bi].tolist(), bj.tolist(), strict=True):
        rp, rq = root(p), root(q)
        if rp != rq:
            parent[max(rp, rq)] = min(rp, rq)
    groups: dict[int, list[int]] = {}
    for k in set(parent) | set(parent.values()):
        groups.setdefault(root(k), []).append(k)
    keep = np.ones(n, bool)
    rows = []
    for members in groups.values():
        idx = np.array(sorted(members))
        keep[idx] = False
        a = blobs.area[idx].astype(np.float64)
        top = idx[int(np.argmax(blobs.strength[idx]))]
        gx0, gy0 = int(x0[idx].min()), int(y0[idx].min())
        rows.append((float(a @ blobs.x[idx]) / a.sum(), float(a @ blobs.y[idx]) / a.sum(),
                     gx0, gy0, int(x1[idx].max()) - gx0 + 1, int(y1[idx].max()) - gy0 + 1,
                     int(a.sum()), blobs.contrast[top], blobs.strength[top]))
    c = list(zip(*rows, strict=True))
    i32, f32 = np.int32, np.float32
    joined = Blobs(np.array(c[0]), np.array(c[1]), np.array(c[2], i32), np.array(c[3], i32),
                   np.array(c[4], i32), np.array(c[5], i32), np.array(c[6], i32),
                   np.array(c[7], f32), np.array(c[8], f32))
    return Blobs.concat([blobs[keep], joined])
