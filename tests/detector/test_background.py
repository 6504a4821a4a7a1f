import cv2
import numpy as np
from detector_synth import Thing, linear_path, render

from detector.background import BackgroundModel
from detector.config import DetectorConfig

FPS = 25.0


def _model(frames, **cfg):
    h, w = frames[0].shape
    return BackgroundModel((w, h), FPS, DetectorConfig(**cfg))


def test_static_noisy_scene_has_almost_no_foreground():
    frames = render([], 60, seed=3, noise=3.0)
    m = _model(frames)
    fractions = [m.apply(f).fraction for f in frames]
    assert max(fractions[20:]) < 1e-3
    assert not any(m.apply(f).tripped for f in frames[:5])


def test_a_small_dark_dot_is_foreground_where_it_is():
    dot = Thing(linear_path(1.0, 200.0, 100.0, 0.0, 0.0, 10.0), radius=1.5, contrast=-25)
    frames = render([dot], 40, seed=4, noise=2.0)
    m = _model(frames)
    for f in frames[:30]:
        fg = m.apply(f)
    # the dot appeared at t = 1 s (frame 25); five frames later it is still foreground
    assert fg.mask[99:102, 199:202].any()
    assert fg.signed[100, 200] < -10
    ys, xs = np.nonzero(fg.mask)
    far = np.hypot(xs - 200, ys - 100) >= 4
    assert far.sum() < 5e-4 * fg.mask.size  # elsewhere only stray noise pixels


def test_global_brightness_step_trips_the_guard_and_recovers():
    frames = render([], 80, seed=5, noise=2.0, gain=lambda i: 1.0 if i < 40 else 1.6)
    m = _model(frames)
    out = [m.apply(f) for f in frames]
    assert not any(o.tripped for o in out[:40])
    # either the illumination correction absorbs it or the guard re-seeds: never a flood
    assert any(o.tripped for o in out[40:42]) or max(o.fraction for o in out[40:]) < 0.01
    assert max(o.fraction for o in out[45:]) < 1e-3
    assert not any(o.blind for o in out[50:])


def test_slow_cloud_dimming_makes_no_foreground():
    frames = render([], 100, seed=6, noise=2.0, gain=lambda i: 1.0 - 0.004 * i)
    m = _model(frames)
    out = [m.apply(f) for f in frames]
    assert max(o.fraction for o in out[20:]) < 1e-3
    assert not any(o.tripped for o in out)


def test_input_size_is_checked():
    m = BackgroundModel((32, 24), FPS, DetectorConfig())
    try:
        m.apply(np.zeros((10, 10), np.uint8))
    except ValueError as e:
        assert "(24, 32)" in str(e)
    else:
        raise AssertionError("a wrong-size frame was accepted")
    assert cv2.countNonZero(m.apply(np.zeros((24, 32), np.uint8)).mask) == 0
