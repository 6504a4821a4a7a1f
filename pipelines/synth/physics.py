"""Falling bodies under gravity with quadratic air drag.

World frame (metres): x along the facade, y away from the wall (the camera stands at
negative y, so an object thrown outward moves towards negative y), z up. The drag
acceleration is ``-(g / vt**2) * |v - w| * (v - w)`` for terminal velocity ``vt`` and
wind ``w``: a body dropped from rest in still air falls with
``v(t) = vt * tanh(g t / vt)``.
"""

from __future__ import annotations

import numpy as np

G = 9.81


def fall_distance_closed_form(t: np.ndarray | float, vt: float) -> np.ndarray:
    """Distance fallen from rest after time ``t`` with quadratic drag: (vt^2/g) ln cosh(g t/vt)."""
    t = np.asarray(t, dtype=np.float64)
    return (vt * vt / G) * np.log(np.cosh(G * t / vt))


def fall_speed_closed_form(t: np.ndarray | float, vt: float) -> np.ndarray:
    """Speed after falling from rest for ``t`` seconds: vt tanh(g t / vt)."""
    return vt * np.tanh(G * np.asarray(t, dtype=np.float64) / vt)


def _accel(v: np.ndarray, vt: float, wind: np.ndarray) -> np.ndarray:
    rel = v - wind
    speed = np.sqrt(np.sum(rel * rel, axis=-1, keepdims=True))
    a = -(G / (vt * vt)) * speed * rel
    a[..., 2] -= G
    return a


def integrate_fall(
    p0: np.ndarray,
    v0: np.ndarray,
    vt: float,
    times: np.ndarray,
    wind: np.ndarray | None = None,
    ground_z: float = 0.0,
    max_step: float = 0.002,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a body released at ``times[0]`` from ``p0`` with velocity ``v0``.

    Args:
        p0: (3,) release position, metres.
        v0: (3,) release velocity, m/s.
        vt: terminal velocity in still air, m/s.
        times: (T,) increasing sample times, seconds; ``times[0]`` is the release.
        wind: (3,) air velocity, m/s (default still air).
        ground_z: height of the ground; the body stops there.
        max_step: largest RK4 step, seconds.

    Returns:
        (positions (T, 3), landed (T,) bool): once landed the position stays on the ground.
    """
    w = np.zeros(3) if wind is None else np.asarray(wind, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    pos = np.empty((times.size, 3))
    landed = np.zeros(times.size, dtype=bool)
    p = np.asarray(p0, dtype=np.float64).copy()
    v = np.asarray(v0, dtype=np.float64).copy()
    t = times[0]
    down = False
    for i, target in enumerate(times):
        while not down and t < target - 1e-12:
            h = min(max_step, target - t)
            k1v = _accel(v, vt, w)
            k1p = v
            k2v = _accel(v + 0.5 * h * k1v, vt, w)
            k2p = v + 0.5 * h * k1v
            k3v = _accel(v + 0.5 * h * k2v, vt, w)
            k3p = v + 0.5 * h * k2v
            k4v = _accel(v + h * k3v, vt, w)
            k4p = v + h * k3v
            p = p + (h / 6.0) * (k1p + 2 * k2p + 2 * k3p + k4p)
            v = v + (h / 6.0) * (k1v + 2 * k2v + 2 * k3v + k4v)
            t += h
            if p[2] <= ground_z:
                p[2] = ground_z
                v[:] = 0.0
                down = True
        pos[i] = p
        landed[i] = down
    return pos, landed
