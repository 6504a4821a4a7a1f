"""Falls in three dimensions: the camera recovered from the facade calibration, and a
ballistic fit of a track's pixels.

The facade homography fixes the camera: with square pixels and the principal point at
the picture's centre, the two wall axes' images must be orthogonal and of equal length
after removing the focal length, which gives the focal length, the rotation and the
camera's position in wall coordinates (x along the wall, y out of it towards the
camera's side being negative, z up).

An object that falls is then a body under gravity with quadratic drag; its 3-D path
(start position, start velocity, terminal speed, and a steady horizontal wind that the
drag pulls a light object along with) is fitted to the observed pixels.
Gravity's known strength fixes the scale that a single camera lacks: an object thrown
out towards the camera, or dropped from a balcony well in front of the wall, is placed
at its true distance, and its release height -- hence its floor -- is not mistaken by
the perspective that a flat wall-plane mapping suffers. A weak prior keeps the object
near the facade when the track is too short to measure the scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

G = 9.81
EARLY_EXIT_SIGMAS = 2.0
"""A fit's first start whose inliers' RMS error is within this many times the pixel noise
is kept without trying the second (see :func:`fit_fall`)."""


@dataclass(frozen=True)
class CameraPose:
    """Pinhole camera in wall coordinates.

    Attributes:
        K: (3, 3) intrinsics; R: (3, 3) world-to-camera rotation; C: (3,) camera centre
        (metres; the wall is the plane y = 0, the camera at y < 0).
    """

    K: np.ndarray
    R: np.ndarray
    C: np.ndarray

    def project(self, P: np.ndarray) -> np.ndarray:
        """(..., 3) world points to (..., 2) pixels."""
        pc = (P - self.C) @ self.R.T @ self.K.T
        z = np.where(np.abs(pc[..., 2]) < 1e-9, 1e-9, pc[..., 2])
        return pc[..., :2] / z[..., None]

    def ray_to_plane(self, uv: np.ndarray, y_plane: float) -> np.ndarray:
        """(N, 3) points where the rays through (N, 2) pixels meet the plane y = y_plane."""
        h = np.column_stack([uv, np.ones(len(uv))])
        d = (np.linalg.inv(self.K) @ h.T).T @ self.R  # world directions
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (y_plane - self.C[1]) / d[:, 1]
        return self.C + d * s[:, None]


def camera_from_homography(wall_to_image: np.ndarray, width: int, height: int) -> CameraPose | None:
    """Recover the camera from the (3, 3) homography taking wall ``[x, z, 1]`` to pixels.

    Returns None when the homography is not that of a pinhole camera in front of the wall
    (no positive focal length fits).
    """
    H = np.asarray(wall_to_image, dtype=np.float64)
    H = H / np.linalg.norm(H[:, :2])
    cx, cy = width / 2.0, height / 2.0
    h1, h2 = H[:, 0], H[:, 1]
    a1, b1 = h1[0] - cx * h1[2], h1[1] - cy * h1[2]
    a2, b2 = h2[0] - cx * h2[2], h2[1] - cy * h2[2]
    # unknown w = 1 / f^2: orthogonality and equal length of the two wall axes
    A = np.array([a1 * a2 + b1 * b2, a1 * a1 + b1 * b1 - a2 * a2 - b2 * b2])
    B = np.array([h1[2] * h2[2], h1[2] ** 2 - h2[2] ** 2])
    if float(A @ A) < 1e-18:
        return None
    w = -float(A @ B) / float(A @ A)
    if not w > 0:
        return None
    f = 1.0 / np.sqrt(w)
    if not (0.1 * width < f < 20.0 * width):
        return None
    K = np.array([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]])
    M = np.linalg.inv(K) @ H
    lam = 2.0 / (np.linalg.norm(M[:, 0]) + np.linalg.norm(M[:, 1]))
    r_x, r_z, t = lam * M[:, 0], lam * M[:, 1], lam * M[:, 2]
    # the wall point seen at the picture's centre must lie in front of the camera
    centre = np.linalg.solve(H, np.array([cx, cy, 1.0]))
    wx, wz = centre[0] / centre[2], centre[1] / centre[2]
    if r_x[2] * wx + r_z[2] * wz + t[2] < 0:
        r_x, r_z, t = -r_x, -r_z, -t
    r_y = np.cross(r_z, r_x)
    R0 = np.column_stack([r_x, r_y, r_z])
    U, _, Vt = np.linalg.svd(R0)
    R = U @ Vt
    if np.linalg.det(R) < 0:
        return None
    C = -R.T @ t
    return CameraPose(K, R, C)


def _drop_distance(tau: np.ndarray, s0: float, vt: float) -> np.ndarray:
    """Downward distance after ``tau`` s for a body with downward speed ``s0`` (m/s)."""
    return _drop_distances(tau, np.array([s0], np.float64), np.array([vt], np.float64))[0]


def _drop_distances(tau: np.ndarray, s0: np.ndarray, vt: np.ndarray) -> np.ndarray:
    """(k, n) downward distances after (n,) ``tau`` s for k bodies with (k,) downward
    speeds ``s0`` and terminal speeds ``vt`` (m/s)."""
    falling = s0 >= 0.0
    if falling.all():
        return _falling(tau, s0, vt)
    if not falling.any():
        return _rising(tau, s0, vt)
    out = np.empty((s0.shape[0], tau.shape[0]))
    out[falling] = _falling(tau, s0[falling], vt[falling])
    out[~falling] = _rising(tau, s0[~falling], vt[~falling])
    return out


def _falling(tau: np.ndarray, s0: np.ndarray, vt: np.ndarray) -> np.ndarray:
    v = vt[:, None]
    a = np.arctanh(np.minimum(s0 / vt, 0.999))[:, None]
    return v * v / G * (_logcosh(G * tau / v + a) - _logcosh(a))


def _rising(tau: np.ndarray, s0: np.ndarray, vt: np.ndarray) -> np.ndarray:
    """Thrown upward: the speed grows back to zero at ``tau_a``."""
    v = vt[:, None]
    a = np.arctan(s0 / vt)[:, None]
    tau_a = -a * v / G
    k = v * v / G
    rise = k * (np.log(np.cos(a)) - np.log(np.cos(np.clip(G * np.minimum(tau, tau_a) / v + a,
                                                          -1.5, 1.5))))
    return rise + k * _logcosh(G * np.maximum(tau - tau_a, 0.0) / v)


def fall_from_rest(vt: float, tau: float) -> float:
    """Metres a body of terminal speed ``vt`` (m/s) falls in ``tau`` s from rest."""
    return float(vt * vt / G * _logcosh(G * tau / vt))


def _logcosh(x: np.ndarray | float) -> np.ndarray:
    x = np.abs(np.asarray(x, dtype=np.float64))
    return x + np.log1p(np.exp(-2.0 * x)) - np.log(2.0)


@dataclass(frozen=True)
class _Times:
    """What :func:`positions` needs of its times alone, computed once per fit (the
    optimiser evaluates hundreds of parameter vectors at the same times)."""

    tau: np.ndarray
    tau_c: np.ndarray  # max(tau, 0)
    after: np.ndarray  # tau >= 0
    all_after: bool
    grid: np.ndarray  # the drag integral's 64 nodes over [0, max(tau_c)]
    steps: np.ndarray  # their spacing

    @classmethod
    def of(cls, tau: np.ndarray) -> _Times:
        tau_c = np.maximum(tau, 0.0)
        after = tau >= 0
        grid = np.linspace(0.0, max(float(tau_c.max()), 1e-3), 64)
        return cls(tau, tau_c, after, bool(after.all()), grid, np.diff(grid))


def positions(params: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """(n, 3) positions at ``tau`` s after the reference for params
    ``[x0, y0, z0, vx0, vy0, vz0, log vt, wx, wy]`` (``wx, wy``: the steady wind, m/s)."""
    return _positions(params, _Times.of(tau))


def _positions(params: np.ndarray, tm: _Times) -> np.ndarray:
    return _positions_many(params[None, :], tm)[0]


def _positions_many(params: np.ndarray, tm: _Times) -> np.ndarray:
    """(k, n, 3) positions for (k, 9) parameter vectors (see :func:`positions`).

    Row by row the same arithmetic, bit for bit, as one vector at a time: the optimiser's
    finite-difference Jacobian evaluates its nine nudged vectors in one call (see
    :func:`fit_fall`), with a ninth of the numpy calls."""
    cols = np.ascontiguousarray(params.T)
    x0, y0, z0, vx, vy, vz, _, wx, wy = cols[:, :, None]  # (k, 1) each; log vt below
    vt = np.exp(cols[6])
    k = (G / (vt * vt))[:, None]
    tau_c, grid = tm.tau_c, tm.grid
    # the speed through the air decays with the drag of the whole speed, dominated by the
    # fall: dv_h/dt = -k |v| (v_h - w) ~ -k (s + q) (v_h - w)
    #   =>  v_h = w + (v_h0 - w) exp(-k D(t)) / (1 + k q0 t)
    q = np.hypot(vx - wx, vy - wy)
    decay = np.exp(-k * _drop_distances(grid, -cols[5], vt)) / (1.0 + k * q * grid)
    along = np.zeros(decay.shape)
    np.cumsum(0.5 * (decay[:, 1:] + decay[:, :-1]) * tm.steps, axis=1, out=along[:, 1:])
    a = np.empty((params.shape[0], tau_c.shape[0]))
    for i, row in enumerate(along):
        a[i] = np.interp(tau_c, grid, row)
    hx = wx * tau_c + (vx - wx) * a
    hy = wy * tau_c + (vy - wy) * a
    down = _drop_distances(tau_c, -cols[5], vt)
    if not tm.all_after:  # before the reference: straight back along the start velocity
        tau, after = tm.tau, tm.after
        hx = np.where(after, hx, vx * tau)
        hy = np.where(after, hy, vy * tau)
        down = np.where(after, down, -vz * tau)
    out = np.empty((*a.shape, 3))
    np.add(x0, hx, out=out[..., 0])
    np.add(y0, hy, out=out[..., 1])
    np.subtract(z0, down, out=out[..., 2])
    return out


@dataclass(frozen=True)
class Fall3D:
    """A ballistic fit of one track.

    Attributes:
        params: ``[x0, y0, z0, vx0, vy0, vz0, log vt, wx, wy]`` at the first point's time
            (``wx, wy``: the steady wind, m/s).
        rms_px: RMS reprojection error of the inliers (input pixels).
        inliers: (n,) bool.
        vt: terminal speed (m/s).
        speed_start, speed_end: downward speed at the first and last point (m/s).
        release_dt: release time relative to the first point (<= 0): when the downward
            speed was zero (for a drop), or the first point for a throw upward.
        release: (3,) release position (m).
        fall_m: height lost over the track.
        lookback_exceeded: the body would have had to be falling for longer than allowed
            before it was first seen.
    """

    params: np.ndarray
    rms_px: float
    inliers: np.ndarray
    vt: float
    speed_start: float
    speed_end: float
    release_dt: float
    release: np.ndarray
    fall_m: float
    lookback_exceeded: bool


def _release_dt(s0: np.ndarray, vt: np.ndarray, lookback_s: float) -> np.ndarray:
    """Seconds before the reference (<= 0, no further back than ``lookback_s``) when a
    body of terminal speed ``vt`` falling at ``s0`` m/s there was at rest (0 when it is
    still rising)."""
    ratio = np.clip(s0 / vt, 0.0, 0.999)
    return np.maximum(-vt / G * np.arctanh(ratio), -lookback_s)


def fit_fall(
    t: np.ndarray,
    uv: np.ndarray,
    cam: CameraPose,
    *,
    sigma_px: float,
    wall_offset_m: float,
    wall_sigma_m: float,
    lookback_s: float,
    wind_sigma_ms: tuple[float, float] = (1.5, 0.5),
) -> Fall3D | None:
    """Fit a falling body's 3-D path to (n,) times and (n, 2) input pixels.

    Args:
        sigma_px: the expected centroid noise (input px): robust loss scale.
        wall_offset_m, wall_sigma_m: prior on the distance out from the wall at the first
            point (metres, negative = in front of the wall).
        lookback_s: the longest time before the first point that a release may lie.
        wind_sigma_ms: prior on the steady wind along the wall and out of it (m/s, zero
            mean; the wall blocks most of the wind across it, and from below the
            camera hardly sees motion along that axis, which a free wind there would
            turn into hovering "falls"). A carton or a cloth falls for seconds and
            drifts metres with the wind: without it the fit explained such a fall with
            a throw upwards from too high (a dropped carton fitted at 8.8 px rms, 1.8
            px with the wind).
    """
    n = t.shape[0]
    if n < 5:
        return None
    tau = t - t[0]
    p_init = cam.ray_to_plane(uv[:1], wall_offset_m)[0]
    if not np.all(np.isfinite(p_init)):
        return None
    # prior: one sigma off the expected wall distance costs as much as one point's noise
    wprior = sigma_px * np.sqrt(n) / wall_sigma_m
    wwind = sigma_px * np.sqrt(n) / np.asarray(wind_sigma_ms, dtype=np.float64)

    times = _Times.of(tau)

    def resid_many(ps: np.ndarray) -> np.ndarray:
        """(k, 2 n + 3) residuals of (k, 9) parameter vectors."""
        r = (cam.project(_positions_many(ps, times)) - uv).reshape(ps.shape[0], -1)
        y_rel = ps[:, 1] + ps[:, 4] * _release_dt(-ps[:, 5], np.exp(ps[:, 6]), lookback_s)
        return np.concatenate([r, wprior * (y_rel[:, None] - wall_offset_m),
                               wwind * ps[:, 7:9]], axis=1)

    def resid(p: np.ndarray) -> np.ndarray:
        return resid_many(p[None, :])[0]

    def jacobian_map(_fun: object, xs: Iterable[np.ndarray]) -> list[np.ndarray]:
        # ``workers`` of least_squares: maps its residual function (``resid``, wrapped)
        # over the nine nudged parameter vectors of a finite-difference Jacobian. One
        # batched call instead of nine: the same numbers, and the whole fit costs ~40% less.
        return list(resid_many(np.stack(list(xs))))

    wmax = 4.0 * np.asarray(wind_sigma_ms, dtype=np.float64)
    lo = [-np.inf, -60.0, -10.0, -30.0, -30.0, -40.0, np.log(0.5), -wmax[0], -wmax[1]]
    hi = [np.inf, 5.0, 500.0, 30.0, 30.0, 15.0, np.log(90.0), wmax[0], wmax[1]]

    def fit_error(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """The (n, 3) positions of ``p``, the points within 3 robust sigmas of their
        reprojection (inliers), and the inliers' RMS."""
        pos = _positions(p, times)
        err = np.linalg.norm(cam.project(pos) - uv, axis=1)
        scale = max(1.4826 * float(np.median(err)), sigma_px)
        inl = err <= 3.0 * scale
        return pos, inl, float(np.sqrt(np.mean(err[inl] ** 2))) if inl.any() else float("inf")

    best = None
    quality = None
    # a light start (8 m/s terminal speed) and a heavy one (30 m/s). The heavy start is
    # needed only when the light one does not explain the pixels: on 75 fits of tracks
    # from generated scenes, wherever the light start's RMS was within
    # ``EARLY_EXIT_SIGMAS`` of the noise, both starts gave the same release (within 0.5 m)
    # or the light one had the lower cost. Skipping the heavy start there took the mean
    # fit from 81 to 54 ms on those fits
    for vt0 in (8.0, 30.0):
        x0 = np.array([*p_init, 0.0, 0.0, -1.0, np.log(vt0), 0.0, 0.0])
        try:
            sol = least_squares(resid, x0, bounds=(lo, hi), loss="soft_l1",
                                f_scale=2.0 * sigma_px, max_nfev=150, x_scale="jac",
                                workers=jacobian_map)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if best is None or sol.cost < best.cost:
            best = sol
            quality = fit_error(sol.x)
            if quality[2] <= EARLY_EXIT_SIGMAS * sigma_px:
                break
    if best is None or quality is None:
        return None
    p = best.x
    P, inl, rms = quality
    vt = float(np.exp(p[6]))
    s0 = -float(p[5])
    # downward speed at the end, numerically
    te = tau[-1]
    dz = positions(p, np.array([te - 0.02, te]))[:, 2]
    s_end = float((dz[0] - dz[1]) / 0.02)
    exceeded = False
    if s0 > 0:
        rel_dt = -vt / G * float(np.arctanh(min(s0 / vt, 0.999)))
        if rel_dt < -lookback_s:
            exceeded = True
            rel_dt = -lookback_s
        drop = float(_drop_distance(np.array([-rel_dt]), 0.0, vt)[0])
        back = np.array([p[3], p[4]]) * rel_dt  # straight back along the start velocity
        release = np.array([p[0] + back[0], p[1] + back[1], p[2] + drop])
    else:
        rel_dt = 0.0
        release = np.array(p[:3], dtype=np.float64)
    return Fall3D(params=p, rms_px=rms, inliers=inl, vt=vt, speed_start=s0, speed_end=s_end,
                  release_dt=rel_dt, release=release, fall_m=float(P[0, 2] - P[:, 2].min()),
                  lookback_exceeded=exceeded)


@dataclass(frozen=True)
class LinearDrop:
    """A drag-free ballistic fit solved in closed form (see :func:`fit_drop_linear`).

    Attributes:
        p0: (3,) position at the first point (m); v0: (3,) velocity there (m/s).
        rms_px: RMS reprojection error (input px); release_dt: when the vertical speed was
            zero, relative to the first point (s; > 0 for a throw upward, whose apex comes
            later).
    """

    p0: np.ndarray
    v0: np.ndarray
    rms_px: float
    release_dt: float


def fit_drop_linear(
    t: np.ndarray,
    uv: np.ndarray,
    cam: CameraPose,
    *,
    wall_offset_m: float,
    wall_sigma_m: float,
    sigma_px: float,
    lookback_s: float = 3.0,
) -> LinearDrop | None:
    """Fit ``P(t) = p0 + v0 t + g t^2 / 2`` to (n,) times and (n, 2) input pixels, linearly.

    Multiplying out the projective division makes each pixel two linear equations in the
    six unknowns (p0, v0): a few microseconds where the drag model's iterative fit takes
    tens of milliseconds. Gravity's known strength fixes the distance; a weak prior keeps
    the start near ``wall_offset_m`` out from the wall when the track is too short to
    measure it. Meant for the first second of a fall, where drag is small.
    """
    n = t.shape[0]
    if n < 4:
        return None
    tau = t - t[0]
    M = cam.K @ cam.R
    m = -M @ cam.C
    g = np.array([0.0, 0.0, -G])
    rows = []
    rhs = []
    for k, coord in ((0, uv[:, 0]), (1, uv[:, 1])):
        a = M[k][None, :] - coord[:, None] * M[2][None, :]  # (n, 3)
        c = m[k] - coord * m[2]
        rows.append(np.hstack([a, a * tau[:, None]]))
        rhs.append(-c - 0.5 * tau**2 * (a @ g))
    A = np.vstack(rows)
    b = np.concatenate(rhs)
    # algebraic residuals are pixels times depth: scale the prior row alike
    p_wall = cam.ray_to_plane(uv[:1], wall_offset_m)[0]
    if not np.all(np.isfinite(p_wall)):
        return None
    depth = float(M[2] @ p_wall + m[2])
    if not depth > 0:
        return None
    w = depth * sigma_px * np.sqrt(n) / wall_sigma_m
    b = np.concatenate([b, [w * wall_offset_m]])
    prior = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    sol, *_ = np.linalg.lstsq(np.vstack([A, w * prior]), b, rcond=None)
    # the object was let go near the wall: a throw picked up late may be well out from
    # it by then. The prior is moved to the release (straight back along the velocity)
    # and the fit solved again
    t_rel = float(np.clip(sol[5] / G, -lookback_s, 0.0))
    if t_rel < 0.0:
        prior[4] = t_rel
        sol, *_ = np.linalg.lstsq(np.vstack([A, w * prior]), b, rcond=None)
    p0, v0 = sol[:3], sol[3:]
    P = p0[None, :] + v0[None, :] * tau[:, None] + 0.5 * g[None, :] * tau[:, None] ** 2
    proj = cam.project(P)
    err = np.linalg.norm(proj - uv, axis=1)
    if not np.all(np.isfinite(err)):
        return None
    return LinearDrop(p0=p0, v0=v0, rms_px=float(np.sqrt(np.mean(err**2))),
                      release_dt=float(v0[2] / G))
