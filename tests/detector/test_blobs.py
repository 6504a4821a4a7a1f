import numpy as np
import pytest

from detector.blobs import Blobs, extract_blobs, line_scores


def _inputs(mask: np.ndarray, value: float = 20.0):
    diff = np.where(mask > 0, value, 0.0).astype(np.float32)
    thresh = np.full(mask.shape, 5.0, np.float32)
    signed = -diff
    return mask, diff, thresh, signed


def test_two_regions_give_two_blobs_with_centroids_areas_and_sign():
    mask = np.zeros((20, 30), np.uint8)
    mask[2:4, 3:5] = 255  # 2x2 at x 3.5, y 2.5
    mask[10:13, 20:23] = 255  # 3x3 at x 21, y 11
    b = extract_blobs(*_inputs(mask), max_blobs=10, merge_radius=0)
    assert b is not None and len(b) == 2
    order = np.argsort(b.x)
    np.testing.assert_allclose(b.x[order], [3.5, 21.0], atol=1e-6)
    np.testing.assert_allclose(b.y[order], [2.5, 11.0], atol=1e-6)
    assert b.area[order].tolist() == [4, 9]
    assert (b.contrast < 0).all()  # darker than the background
    np.testing.assert_allclose(b.strength, 4.0)


def test_centroid_is_weighted_by_the_difference():
    mask = np.zeros((10, 10), np.uint8)
    mask[5, 4:6] = 255
    m, diff, thresh, signed = _inputs(mask)
    diff[5, 5] = 60.0  # the right pixel is much stronger
    b = extract_blobs(m, diff, thresh, signed, max_blobs=10, merge_radius=0)
    assert b is not None and len(b) == 1
    assert 4.5 < b.x[0] < 5.0


def test_large_regions_take_the_slow_path_with_the_same_statistics():
    mask = np.zeros((80, 80), np.uint8)
    mask[10:40, 20:30] = 255
    b = extract_blobs(*_inputs(mask), max_blobs=10, merge_radius=0)
    assert b is not None and len(b) == 1
    assert b.area[0] == 300
    np.testing.assert_allclose([b.x[0], b.y[0]], [24.5, 24.5], atol=1e-6)


def test_close_pieces_merge_and_area_bounds_apply():
    mask = np.zeros((20, 20), np.uint8)
    mask[5, 5] = mask[5, 7] = 255  # one pixel apart
    b = extract_blobs(*_inputs(mask), max_blobs=10, merge_radius=1)
    assert b is not None and len(b) == 1 and b.area[0] == 2
    b = extract_blobs(*_inputs(mask), max_blobs=10, merge_radius=1, min_area=3)
    assert b is not None and len(b) == 0


def test_too_many_regions_reports_overflow():
    mask = np.zeros((40, 40), np.uint8)
    mask[::4, ::4] = 255  # 100 separate pixels
    assert extract_blobs(*_inputs(mask), max_blobs=50, merge_radius=0) is None
    b = extract_blobs(*_inputs(mask), max_blobs=100, merge_radius=0)
    assert b is not None and len(b) == 100


def test_blobs_columns_are_checked_and_indexable():
    e = Blobs.empty()
    assert len(e) == 0 and e.xy.shape == (0, 2)
    mask = np.zeros((20, 30), np.uint8)
    mask[2:4, 3:5] = 255
    mask[10:13, 20:23] = 255
    b = extract_blobs(*_inputs(mask), max_blobs=10, merge_radius=0)
    assert b is not None
    big = b[b.area > 5]
    assert len(big) == 1 and big.area[0] == 9
    with pytest.raises(ValueError, match="rows"):
        Blobs(*(np.zeros(2) for _ in range(8)), np.zeros(3))


@pytest.mark.parametrize("merge_radius", [0, 1, 2])
def test_thin_streaks_are_dropped_and_not_counted_while_objects_stay(merge_radius):
    """Rain drops near the lens draw long thin streaks; a falling object, even blurred by
    its speed, stays compact. Streaks go before they are counted (so rain does not raise
    the clutter threshold) or tracked."""
    import cv2

    mask = np.zeros((120, 160), np.uint8)
    for x in range(10, 150, 14):  # ten rain streaks, 1-2 px wide, 20-40 px long, slanted
        cv2.line(mask, (x, 5), (x + 6, 30 + x % 10), 255, 1 + x % 2)
    mask[60:63, 40:43] = 255  # a small object
    mask[80:92, 100:104] = 255  # a fast one, blurred along its fall: 4 x 12
    mask[100:102, 20:22] = 255  # a speck
    stats: dict[str, int] = {}
    b = extract_blobs(*_inputs(mask), max_blobs=5, merge_radius=merge_radius, stats=stats,
                      streak_len=12.0, streak_width=2.0)
    assert b is not None and len(b) == 3  # not over max_blobs: the streaks were not counted
    assert stats == {"regions": 3, "streaks": 10, "lines": 0}
    assert sorted(b.area.tolist()) == [4, 9, 48]

    # with the filter off the streaks are regions like any other
    assert extract_blobs(*_inputs(mask), max_blobs=5, merge_radius=merge_radius) is None


def test_a_streak_where_a_track_expects_its_object_is_kept():
    """A small object merged with a thin trail (its own fading ghost, an edge) looks like a
    streak; where a track expects its object, it is still a detection."""
    import cv2

    mask = np.zeros((80, 80), np.uint8)
    cv2.line(mask, (10, 10), (30, 40), 255, 1)  # the trail
    mask[39:42, 29:32] = 255  # the object at its end, (30, 40)
    args = dict(max_blobs=10, merge_radius=1, streak_len=12.0, streak_width=2.0)
    assert len(extract_blobs(*_inputs(mask), **args)) == 0
    far = (np.array([70.0]), np.array([70.0]), np.array([5.0]))
    assert len(extract_blobs(*_inputs(mask), **args, expected=lambda: far)) == 0
    near = (np.array([32.0]), np.array([44.0]), np.array([5.0]))
    b = extract_blobs(*_inputs(mask), **args, expected=lambda: near)
    assert len(b) == 1 and b.area[0] > 9


def _cut_streak(scale: float = 1.0):
    """A faint rain streak (0.8 of the threshold, 1 px wide, 60 px long, 5 degrees off the
    vertical) that the
    threshold cut into three 3-px pieces, a small object and a fast object blurred along
    its fall (4 x 12), both with nothing beyond them. ``scale``: the clutter multiplier
    the threshold holds."""
    import cv2

    diff = np.zeros((120, 160), np.float32)
    cv2.line(diff, (30, 10), (35, 70), 4.0 * scale, 1)
    for y in (20, 40, 60):  # the pieces that cross the threshold
        x = 30 + round(5 * (y - 10) / 60)
        diff[y:y + 3, x] = 8.0 * scale
    diff[60:63, 100:103] = 20.0
    diff[80:92, 130:134] = 20.0
    thresh = np.full(diff.shape, 5.0 * scale, np.float32)
    mask = np.where(diff > thresh, 255, 0).astype(np.uint8)
    return mask, diff, thresh, -diff


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_pieces_of_a_streak_that_the_threshold_cut_up_are_dropped_and_not_counted(scale):
    """At night or under infrared a rain streak is faint: only pieces of it, too short for
    streaks, cross the threshold. Its difference from the background goes on beyond each
    piece in a line; beyond a falling object, blurred or not, lies background."""
    m, diff, thresh, signed = _cut_streak(scale)
    stats: dict[str, int] = {}
    args = dict(max_blobs=10, merge_radius=1, streak_len=12.0, streak_width=2.0)
    b = extract_blobs(m, diff, thresh, signed, **args, stats=stats, line_max=0.6,
                      line_scale=scale)
    assert b is not None and sorted(b.area.tolist()) == [9, 48]  # the two objects
    assert stats == {"regions": 2, "streaks": 0, "lines": 3}
    # off (0), the pieces are regions like any other
    b = extract_blobs(m, diff, thresh, signed, **args, stats=stats, line_scale=scale)
    assert b is not None and len(b) == 5 and stats["regions"] == 5
    # where a track expects its object, a piece is still a detection
    near = (np.array([32.0]), np.array([41.0]), np.array([3.0]))
    b = extract_blobs(m, diff, thresh, signed, **args, line_max=0.6, line_scale=scale,
                      expected=lambda: near)
    assert b is not None and len(b) == 3


def test_line_score_is_high_on_a_cut_streak_and_low_beside_objects():
    _, diff, thresh, _ = _cut_streak()
    rects = np.array([[31, 39, 3, 5],  # a piece (with a pixel's margin), mid-streak
                      [99, 59, 5, 5],  # the small object
                      [129, 79, 6, 14]], np.int32)  # the blurred one
    s = line_scores(rects, diff, thresh)
    assert s[0] > 0.6  # the streak goes on at 0.8 of the threshold
    assert abs(s[1]) < 0.1 and abs(s[2]) < 0.1
    # the clutter multiplier is taken out: the same difference under a threshold raised 3x
    s3 = line_scores(rects, diff, thresh * 3, scale=3.0)
    np.testing.assert_allclose(s3, s, atol=1e-6)
    assert line_scores(np.zeros((0, 4), np.int32), diff, thresh).shape == (0,)


def _gauge_frames(kind: str, frames: int, seed: int = 0):
    """Foreground masks (120 x 160) of ``frames`` frames of one kind of weather:

    - ``rain``: 4-7 drops a frame, each a slanted 1 px streak 14-30 px long in a new place;
    - ``branch``: six edges of a swaying branch, streaks that come back each frame where they
      were, moved by a pixel or two;
    - ``gust``: half a second of 10 new streaks a frame (a light switched on, a gust through
      leaves), then nothing.
    """
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for f in range(frames):
        mask = np.zeros((120, 160), np.uint8)
        if kind == "rain":
            for _ in range(int(rng.integers(4, 8))):
                x, y = int(rng.integers(5, 150)), int(rng.integers(0, 90))
                n = int(rng.integers(14, 30))
                cv2.line(mask, (x, y), (x + n // 5, y + n), 255, 1)
        elif kind == "branch":
            dx = round(2 * np.sin(f / 3))
            for i in range(6):
                cv2.line(mask, (15 + 25 * i + dx, 30), (20 + 25 * i + dx, 60), 255, 1)
        elif kind == "gust" and f < 12:
            for _ in range(10):
                x, y = int(rng.integers(5, 150)), int(rng.integers(0, 90))
                cv2.line(mask, (x, y), (x + 4, y + 20), 255, 1)
        out.append(mask)
    return out


@pytest.mark.parametrize("kind, raining", [("rain", True), ("branch", False), ("gust", False)])
def test_the_rain_gauge_tells_steady_rain_from_streaks_that_come_back_or_pass(kind, raining):
    """Rain lays its streaks in new places every frame and goes on; a swaying branch's
    edges come back where they were, and a gust's burst is over within the second. The
    mean number of streaks a frame cannot tell them apart: each of these gives several."""
    from detector.blobs import RainGauge

    gauge = RainGauge(fps=25.0, min_streaks=3, share=0.5)
    said = []
    streaks = 0
    for mask in _gauge_frames(kind, 75):
        boxes: list[np.ndarray] = []
        stats: dict[str, int] = {}
        extract_blobs(*_inputs(mask), max_blobs=50, stats=stats, streak_len=12.0,
                      streak_width=2.0, streak_boxes=boxes)
        assert len(boxes) == 1 and boxes[0].shape == (stats["streaks"], 4)
        streaks += stats["streaks"]
        gauge.update(boxes[0])
        said.append(gauge.raining)
    assert streaks >= (80 if kind == "gust" else 4 * 75)
    assert any(said) == raining
    if raining:
        assert all(said[40:])  # within about a second and a half, and it holds


def test_the_rain_gauge_holds_over_frames_not_looked_at_and_can_be_switched_off():
    from detector.blobs import RainGauge

    gauge = RainGauge(fps=25.0, min_streaks=3, share=0.5)
    boxes = np.array([[10 * i, 40 * (i % 2), 2, 20] for i in range(5)], np.int32)
    gauge.update(boxes)
    assert gauge.share == pytest.approx(1 / 25)  # the first frame's streaks are all new
    gauge.update(boxes)
    assert gauge.share < 1 / 25  # the same streaks again: not rain
    before = gauge.share
    gauge.update(None)  # blind frame: the share holds ...
    assert gauge.share == before
    gauge.update(boxes)  # ... and what follows it is new
    assert gauge.share > before
    off = RainGauge(fps=25.0, min_streaks=0, share=0.5)
    for f in range(50):
        off.update(boxes + f * 7)
    assert not off.raining
