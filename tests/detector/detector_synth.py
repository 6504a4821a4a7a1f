"""Small synthetic luma scenes for the detector tests (seeded, numpy/cv2 only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from detector.calibration import FacadeCalibration

W, H, FPS = 640, 360, 25.0
PX_PER_M = 6.0  # the test facade: 60 m of wall over 360 rows


def calibration(width: int = W, height: int = H, px_per_m: float = PX_PER_M) -> FacadeCalibration:
    """A fronto-parallel facade: x = u / px_per_m, z = (height - v) / px_per_m, 3 m floors."""
    img = [[0, height], [width, height], [width, 0], [0, 0]]
    wall = [[0, 0], [width / px_per_m, 0], [width / px_per_m, height / px_per_m],
            [0, height / px_per_m]]
    return FacadeCalibration(np.array(img, float), np.array(wall, float), 3.0, 1)


def background(rng: np.random.Generator, width: int = W, height: int = H) -> np.ndarray:
    """(H, W) float32 textured facade: smooth noise plus a grid of darker windows."""
    base = rng.normal(0, 1, (height // 8 + 1, width // 8 + 1)).astype(np.float32)
    base = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    img = 120 + 12 * base
    for y in range(10, height - 20, 36):
        for x in range(12, width - 20, 48):
            img[y : y + 18, x : x + 22] -= 25
    return img.astype(np.float32)


def fall_path(
    t_release: float, x0: float, y0: float, duration: float, g_px: float = 9.81 * PX_PER_M,
    drag: float = 0.02, vx: float = 0.0,
) -> Callable[[float], tuple[float, float] | None]:
    """Position (px) at time t of an object released at rest (vertically) at (x0, y0).

    Vertical motion under gravity with quadratic drag ``dv/dt = g - drag * v^2`` (px units).
    """
    ts = np.arange(0.0, duration + 1e-9, 1e-3)
    v = np.zeros_like(ts)
    y = np.zeros_like(ts)
    for i in range(1, ts.size):
        a = g_px - drag * v[i - 1] ** 2
        v[i] = v[i - 1] + a * 1e-3
        y[i] = y[i - 1] + v[i] * 1e-3

    def at(t: float) -> tuple[float, float] | None:
        dt = t - t_release
        if dt < 0 or dt > duration:
            return None
        return x0 + vx * dt, y0 + float(np.interp(dt, ts, y))

    return at


def linear_path(t0: float, x0: float, y0: float, vx: float, vy: float, duration: float):
    def at(t: float) -> tuple[float, float] | None:
        dt = t - t0
        if dt < 0 or dt > duration:
            return None
        return x0 + vx * dt, y0 + vy * dt

    return at


@dataclass
class Thing:
    """A moving dot: path(t) -> (x, y) or None when absent; Gaussian of sigma radius/1.5.
    ``fade(t)`` scales its contrast (an object lit by an infrared illuminator brightens as
    it comes closer)."""

    path: Callable[[float], tuple[float, float] | None]
    radius: float = 2.0
    contrast: float = -60.0
    hidden: Callable[[int], bool] = field(default=lambda i: False)
    fade: Callable[[float], float] = field(default=lambda t: 1.0)


def render(
    things: list[Thing], n_frames: int, seed: int = 0, noise: float = 2.0,
    gain: Callable[[int], float] = lambda i: 1.0, width: int = W, height: int = H,
    fps: float = FPS,
) -> list[np.ndarray]:
    """n_frames (H, W) uint8 luma frames of the scene."""
    rng = np.random.default_rng(seed)
    bg = background(rng, width, height)
    frames = []
    for i in range(n_frames):
        t = i / fps
        img = bg.copy()
        for th in things:
            p = th.path(t)
            if p is None or th.hidden(i):
                continue
            x, y = p
            s = max(th.radius / 1.5, 0.5)
            r = int(np.ceil(4 * s)) + 1
            xi, yi = round(x), round(y)
            y0, y1 = max(yi - r, 0), min(yi + r + 1, height)
            x0, x1 = max(xi - r, 0), min(xi + r + 1, width)
            if y0 >= y1 or x0 >= x1:
                continue
            gy, gx = np.mgrid[y0:y1, x0:x1]
            d2 = (gx - x) ** 2 + (gy - y) ** 2
            img[y0:y1, x0:x1] += th.contrast * th.fade(t) * np.exp(-d2 / (2 * s * s))
        img = img * gain(i) + rng.normal(0, noise, img.shape)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return frames


def run(frames: list[np.ndarray], fps: float = FPS, **kwargs):
    """Run a Detector over the frames; return all events (process + finish)."""
    from detector.pipeline import Detector

    h, w = frames[0].shape
    det = Detector(w, h, fps, **kwargs)
    events = []
    for i, f in enumerate(frames):
        events += det.process(f, i / fps)
    events += det.finish()
    return events, det
