"""Looking back along a track for the faint start of a fall (detector.retrace)."""

import numpy as np
import pytest
from detector_synth import FPS, H, Thing, W, calibration, fall_path, render, run

from detector.background import QUANT
from detector.config import DetectorConfig
from detector.retrace import FrameHistory, retrace
from detector.tracking import Track

CAL = calibration()
RELEASE_T, X0, Y0 = 1.0, 300.0, 40.0
FAINT_S = 1.4  # the object stays under the threshold this long after its release


def _faint_then_bright(t: float) -> float:
    return 0.15 if t < RELEASE_T + FAINT_S else 1.0


def _frames(seed: int, fade=_faint_then_bright, contrast: float = -40.0) -> list[np.ndarray]:
    path = fall_path(RELEASE_T, X0, Y0, 2.6, drag=0.005)
    return render([Thing(path, radius=2.5, contrast=contrast, fade=fade)], 110, seed=seed,
                  noise=2.0)


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_a_fall_first_detected_already_fast_is_followed_back_to_its_release(seed):
    """Under infrared a far object is dim: this one stays under the detection threshold
    for 1.4 s after its release and is first detected 60 px down, already fast. Alone,
    that track is what rain near the lens looks like and is refused; looking back along
    it finds the faint start of the fall, and the event has the right release point and
    floor."""
    frames = _frames(seed)
    without, det0 = run(frames, calibration=CAL, config=DetectorConfig(retrace_s=0.0))
    assert without == [] and any("already fast" in r for _, r in det0.rejected)
    events, det = run(frames, calibration=CAL)
    assert len(events) == 1 and det.retraced == 1
    ev = events[0]
    path = fall_path(RELEASE_T, X0, Y0, 2.6, drag=0.005)
    # the trajectory now reaches back into the faint part, on the object
    first_t = float(ev.trajectory[0, 0])
    assert first_t < RELEASE_T + FAINT_S - 0.4
    faint = ev.trajectory[ev.trajectory[:, 0] < RELEASE_T + FAINT_S]
    assert all(np.hypot(x - path(t)[0], y - path(t)[1]) <= 3.0 for t, x, y in faint)
    # the event says how many of its first points were found by looking back: all in
    # the faint part (a frame or two of it may still have been detected)
    assert len(faint) - 2 <= ev.faint_points <= len(faint)
    assert abs(ev.origin.t_s - RELEASE_T) < 0.3
    assert abs(ev.origin.floor - int(CAL.floor_at([[X0, Y0]])[0])) <= 1


@pytest.mark.parametrize("seed", [31, 32])
def test_at_10_fps_a_track_first_seen_already_fast_is_still_followed_back(seed):
    """A camera recording 10 frames a second: a track's first 8 detections take 0.7 s.
    Looked back along only up to 0.6 s of age, no track at under 13 fps ever was (and a
    bottle seen in 8 of its first 16 frames at 25 fps was not either, 1001801_0024). This
    one stays faint for 1.4 s after its release; its track alone is refused for being
    already fast, and looking back finds its start, release and floor."""
    fps = 10.0
    path = fall_path(RELEASE_T, X0, Y0, 2.6, drag=0.005)
    fade = lambda t: 0.1 if t < RELEASE_T + FAINT_S else 1.0  # noqa: E731
    frames = render([Thing(path, radius=2.5, contrast=-40, fade=fade)], 44, seed=seed,
                    noise=2.0, fps=fps)
    without, det0 = run(frames, fps=fps, calibration=CAL, config=DetectorConfig(retrace_s=0.0))
    assert without == [] and any("already fast" in r for _, r in det0.rejected)
    events, det = run(frames, fps=fps, calibration=CAL)
    assert len(events) == 1 and det.retraced == 1
    ev = events[0]
    assert ev.faint_points >= 8
    assert abs(ev.origin.t_s - RELEASE_T) < 0.3
    assert abs(ev.origin.floor - int(CAL.floor_at([[X0, Y0]])[0])) <= 1


def test_a_track_with_nothing_before_it_is_still_refused():
    """Rain near the lens, or a bird swooping in: nothing was there before the first
    detection, so looking back finds nothing and the track stays refused."""
    frames = _frames(34, fade=lambda t: 0.0 if t < RELEASE_T + FAINT_S else 1.0)
    events, det = run(frames, calibration=CAL)
    assert events == [] and det.retraced == 0
    assert any("already fast" in r for _, r in det.rejected)


def test_a_faint_predecessor_of_the_other_sign_is_not_the_object():
    """Looking back asks for the track's own sign: a dark object's path with a faint
    bright blob along it is not the object's faint start."""
    path = fall_path(RELEASE_T, X0, Y0, 2.6, drag=0.005)
    early = lambda t: t < RELEASE_T + FAINT_S  # noqa: E731
    things = [Thing(path, radius=2.5, contrast=-40, fade=lambda t: 0.0 if early(t) else 1.0),
              Thing(path, radius=2.5, contrast=+40, fade=lambda t: 0.15 if early(t) else 0.0)]
    frames = render(things, 110, seed=35, noise=2.0)
    events, det = run(frames, calibration=CAL)
    assert events == [] and det.retraced == 0


def _history(frames: list[np.ndarray], seconds: float) -> FrameHistory:
    hist = FrameHistory((frames[0].shape[1], frames[0].shape[0]), seconds, FPS)
    for i, f in enumerate(frames):
        hist.push(f, i / FPS)
    return hist


def test_the_history_keeps_only_the_last_frames_newest_first():
    frames = [np.full((4, 6), i, np.uint8) for i in range(30)]
    hist = _history(frames, 0.4)  # 10 frames + 1 at 25 fps
    assert hist.capacity == 11
    got = hist.before(29 / FPS, 0.0)
    assert [int(img[0, 0]) for _, img in got] == list(range(28, 18, -1))
    assert [round(t * FPS) for t, _ in hist.before(25 / FPS, 22 / FPS)] == [24, 23, 22]
    frames[5][:] = 99  # the history holds copies
    assert all(int(img[0, 0]) != 99 for _, img in hist.before(1.0, 0.0))
    assert FrameHistory((6, 4), 0.0, FPS).before(1.0, 0.0) == []


def _young_track(path, t0: float, n: int = 8) -> Track:
    t = t0 + np.arange(n) / FPS
    xy = np.array([path(tt) for tt in t]) / 2.0  # work px (downscale 2)
    return Track(1, t, xy[:, 0], xy[:, 1], np.full(n, 6.0), np.full(n, -30.0), np.full(n, 3.0))


def test_retrace_finds_the_faint_points_on_the_path_and_nothing_in_noise():
    path = fall_path(RELEASE_T, X0, Y0, 2.6, drag=0.005)
    t_first = round((RELEASE_T + FAINT_S) * FPS) / FPS
    cfg = DetectorConfig()
    for fade, expect in ((_faint_then_bright, True), (lambda t: 1.0 if t >= t_first else 0.0,
                                                      False)):
        frames = render([Thing(path, radius=2.5, contrast=-40, fade=fade)], 70, seed=36,
                        noise=2.0)
        small = [f.reshape(H // 2, 2, W // 2, 2).mean(axis=(1, 3)).astype(np.uint8)
                 for f in frames]
        clean = render([], 1, seed=36, noise=0.0)[0]
        bg = (clean.reshape(H // 2, 2, W // 2, 2).mean(axis=(1, 3)) * QUANT).astype(np.uint16)
        thresh = np.full(bg.shape, 10 * QUANT, np.uint16)
        hist = _history(small[: round(t_first * FPS)], cfg.retrace_s + 0.6)
        found = retrace(_young_track(path, t_first), hist, bg, thresh, cfg)
        if not expect:
            assert found is None
            continue
        assert found is not None and len(found) >= 10
        assert np.all(np.diff(found.t) > 0) and found.t[-1] < t_first
        truth = np.array([path(t) for t in found.t]) / 2.0
        assert np.max(np.hypot(found.x - truth[:, 0], found.y - truth[:, 1])) < 1.5
        assert np.all(found.contrast < 0) and np.all(found.strength < 1.0)


def test_in_heavy_clutter_nothing_is_looked_back_along():
    """Rain drops near the lens also come out of a faint distance, speeding up; in heavy
    rain every frame offers some faint blob along the way back. While clutter holds the
    threshold raised beyond ``retrace_max_clutter`` the detector does not look back, so
    nothing is looked back along (here a real fall's faint start is given up, the price
    of no rain alarms)."""
    frames = _frames(37)
    rng = np.random.default_rng(37)
    for f in frames:  # 80 bright 2x2 specks a frame, all along
        ys, xs = rng.integers(0, H - 2, 80), rng.integers(0, W - 2, 80)
        for y, x in zip(ys, xs, strict=True):
            f[y : y + 2, x : x + 2] = np.minimum(f[y : y + 2, x : x + 2].astype(int) + 70, 255)
    cfg = DetectorConfig(max_blobs=40)
    events, det = run(frames, calibration=CAL, config=cfg)
    assert det.background.thresh_scale > cfg.retrace_max_clutter
    assert events == [] and det.looked_back == 0
    # the same frames with the bar lifted: the tracks are looked back along
    relaxed = DetectorConfig(max_blobs=40, retrace_max_clutter=20.0)
    _, det = run(frames, calibration=CAL, config=relaxed)
    assert det.looked_back >= 1


def test_a_late_track_too_short_to_show_its_acceleration_is_followed_back():
    """Released from high up and dim for 2 s, this object is first detected already at
    20 m/s and followed for only 0.6 s: too short for its acceleration to stand out of
    the noise, which is also how a bird swooping down reads. Its faint start lies along
    the track, so looking back finds it, and the whole fall passes with its release and
    floor. (A steeper facade, 9 px per metre, keeps the whole fall in the picture.)"""
    ppm, faint_s = 9.0, 2.0
    cal = calibration(px_per_m=ppm)
    path = fall_path(RELEASE_T, X0, 30.0, faint_s + 0.6, drag=0.002, g_px=9.81 * ppm)
    fade = lambda t: 0.15 if t < RELEASE_T + faint_s else 1.0  # noqa: E731
    frames = render([Thing(path, radius=2.5, contrast=-40, fade=fade)], 100, seed=38,
                    noise=2.0)
    without, det0 = run(frames, calibration=cal, config=DetectorConfig(retrace_s=0.0))
    assert without == []
    assert any("no significant downward acceleration" in r for _, r in det0.rejected)
    events, det = run(frames, calibration=cal)
    assert len(events) == 1 and det.retraced == 1
    ev = events[0]
    assert ev.faint_points >= 20
    assert abs(ev.origin.t_s - RELEASE_T) < 0.3
    assert abs(ev.origin.floor - int(cal.floor_at([[X0, 30.0]])[0])) <= 1
