"""Falling bodies under gravity with quadratic air drag.

World frame (metres): x along the facade, y away from the wall (the camera stands at
negative y, so an object thrown outward moves towards negative y), z up. The drag
acceleration is ``-(g / vt**2) * |v - w| * (v - w)`` for terminal velocity ``vt`` and
wind ``w``: a body dropped from rest in still air falls with
``v(t) = vt * tanh(g t / vt)``.
"""

from __future__ import annotations

import math

import numpy as np

G = 9.81


def fall_distance_closed_form(t: np.ndarray | float, vt: float) -> np.ndarray:
    """Distance fallen from rest after time ``t`` with quadratic drag: (vt^2/g) ln cosh(g t/vt)."""
    t = np.asarray(t, dtype=np.float64)
    return (vt * vt / G) * np.log(np.cosh(G * t / vt))


def fall_speed_closed_form(t: np.ndarray | float, vt: float) -> np.ndarray:
    """Speed after falling from rest for ``t`` seconds: vt tanh(g t / vt)."""
    return vt * np.tanh(G * np.asarray(t, dtype=np.float64) / vt)


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
    # RK4 on plain floats: a 3-vector per step costs far less than numpy's per-call
    # overhead (the renderer integrates every leaf and object this way). Every operation
    # is the one the vector form did, in the same order, so the paths are bit-identical
    # to it (sums of squares left to right, as numpy's small reductions add them).
    px, py, pz = (float(c) for c in np.asarray(p0, dtype=np.float64))
    vx, vy, vz = (float(c) for c in np.asarray(v0, dtype=np.float64))
    wx, wy, wz = float(w[0]), float(w[1]), float(w[2])
    k = -(G / (vt * vt))
    gz = float(ground_z)

    def accel(ux: float, uy: float, uz: float) -> tuple[float, float, float]:
        """Gravity plus quadratic drag at velocity (ux, uy, uz)."""
        rx, ry, rz = ux - wx, uy - wy, uz - wz
        ks = k * math.sqrt(rx * rx + ry * ry + rz * rz)
        return ks * rx, ks * ry, ks * rz - G

    t = float(times[0])
    down = False
    for i, target in enumerate(times.tolist()):
        while not down and t < target - 1e-12:
            h = min(max_step, target - t)
            hh = 0.5 * h
            a1 = accel(vx, vy, vz)
            v2 = (vx + hh * a1[0], vy + hh * a1[1], vz + hh * a1[2])
            a2 = accel(*v2)
            v3 = (vx + hh * a2[0], vy + hh * a2[1], vz + hh * a2[2])
            a3 = accel(*v3)
            v4 = (vx + h * a3[0], vy + h * a3[1], vz + h * a3[2])
            a4 = accel(*v4)
            h6 = h / 6.0
            px = px + h6 * (((vx + 2 * v2[0]) + 2 * v3[0]) + v4[0])
            py = py + h6 * (((vy + 2 * v2[1]) + 2 * v3[1]) + v4[1])
            pz = pz + h6 * (((vz + 2 * v2[2]) + 2 * v3[2]) + v4[2])
            vx = vx + h6 * (((a1[0] + 2 * a2[0]) + 2 * a3[0]) + a4[0])
            vy = vy + h6 * (((a1[1] + 2 * a2[1]) + 2 * a3[1]) + a4[1])
            vz = vz + h6 * (((a1[2] + 2 * a2[2]) + 2 * a3[2]) + a4[2])
            t += h
            if pz <= gz:
                pz = gz
                vx = vy = vz = 0.0
                down = True
        pos[i] = (px, py, pz)
        landed[i] = down
    return pos, landed
