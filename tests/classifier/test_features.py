"""Appearance patches and motion features: bounded, finite, fixed shapes."""

from __future__ import annotations

import numpy as np

from detector.classifier import IMAGE, track_image
from detector.config import DetectorConfig
from detector.pipeline import Detector
from detector.track_features import (
    CHANNELS,
    CROP,
    MAX_CROPS,
    N_CROPS,
    N_MOTION,
    CropRecorder,
    appearance,
    motion_features,
)
from detector.tracking import Track


def _fall(n: int = 30, g: float = 200.0) -> Track:
    t = np.arange(n) / 25.0
    return Track(id=1, t=t, x=50.0 + 3.0 * t, y=20.0 + 0.5 * g * t**2,
                 area=np.full(n, 6.0), contrast=np.full(n, -30.0), strength=np.full(n, 3.0),
                 meta={"g_px": g, "fps": 25.0, "calibrated": 1.0, "accel_g": 1.0})


def test_a_long_track_keeps_a_bounded_number_of_patches_spread_along_it() -> None:
    rec = CropRecorder()
    luma = np.tile(np.arange(200, dtype=np.uint8), (120, 1))
    signed = np.zeros((120, 200), np.float32)
    for k in range(300):
        x = np.array([10.0 + 0.5 * k])
        rec.capture(luma, signed, np.array([7]), np.array([k + 1], np.int32), x,
                    np.array([60.0]), np.array([4.0]), np.array([7]))
    crops = rec.take(7)
    assert crops is not None
    assert crops.shape[1:] == (CHANNELS, CROP, CROP)
    assert 2 <= len(crops) <= MAX_CROPS
    # the luma ramp shows where each patch was cut: first and last patches are far apart
    assert crops[-1, 0].mean() - crops[0, 0].mean() > 80
    assert rec.take(7) is None  # handed over once


def test_features_have_fixed_shapes_and_are_finite() -> None:
    tr = _fall()
    m = motion_features(tr)
    assert m.shape == (N_MOTION,) and np.isfinite(m).all()
    assert appearance(tr).shape == (N_CROPS * CHANNELS, CROP, CROP)  # zeros without patches
    tr.crops = np.random.default_rng(0).normal(100, 20, (5, CHANNELS, CROP, CROP)).astype(
        np.float32)
    a = appearance(tr)
    assert np.isfinite(a).all() and np.abs(a).max() > 0
    img = track_image(tr)
    assert img.shape == (IMAGE, IMAGE, 3) and img.dtype == np.uint8


def test_a_free_fall_shows_about_one_g_in_its_features() -> None:
    # scalars follow the 9 resampled profiles: log dur, log n, hit ratio, fitted accel (g)
    m = motion_features(_fall(g=150.0))
    from detector.track_features import N_STEPS

    assert abs(m[9 * N_STEPS + 3] - 1.0) < 0.02


def test_the_detector_hands_candidates_with_patches_and_context_to_the_hook() -> None:
    # a dark 3 px square falling down a bright wall, 320x240
    fps, w, h = 25.0, 320, 240
    det = Detector(w, h, fps, DetectorConfig(downscale=1))
    got: list[Track] = []
    det.candidate_hook = got.append
    rng = np.random.default_rng(1)
    for f in range(60):
        img = np.clip(rng.normal(170, 2, (h, w)), 0, 255).astype(np.uint8)
        t = f / fps
        if f >= 15:
            tt = t - 15 / fps
            y = int(10 + 0.5 * 0.1 * h * 9 * tt**2 + 60 * tt)
            if y < h - 3:
                img[y:y + 3, 150:153] = 60
        det.process(img, t)
    det.finish()
    assert got, f"no candidate; rejected: {det.rejected[-5:]}"
    tr = got[0]
    assert tr.crops is not None and tr.crops.shape[1:] == (CHANNELS, CROP, CROP)
    assert {"g_px", "fps", "physics_score", "accel_g"} <= set(tr.meta)
    # the patches are centred on the dark object: the centre is darker than the border
    c = tr.crops[:, 0]
    assert (c[:, CROP // 2, CROP // 2] < c[:, 0, 0]).all()
