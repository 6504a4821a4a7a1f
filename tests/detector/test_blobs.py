import numpy as np
import pytest

from detector.blobs import Blobs, extract_blobs, merge_fragments


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
    assert stats == {"regions": 3, "streaks": 10}
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


def _cloth_mask():
    """A faint cloth broken by the threshold into a 10 x 8 patch and two pieces 2-3 px
    off it, with a strong small thing 2 px to its left and a bright piece below it."""
    mask = np.zeros((40, 60), np.uint8)
    mask[10:18, 20:30] = 255  # the cloth's main patch
    mask[10:13, 32:35] = 255  # a piece 2 px to its right
    mask[21:23, 24:27] = 255  # a piece 3 px below
    mask[12:15, 15:18] = 255  # a strong small thing 2 px to its left
    mask[30:32, 22:24] = 255  # a piece 12 px below: too far
    return mask


def test_faint_pieces_of_a_large_object_join_it():
    mask = _cloth_mask()
    diff = np.where(mask > 0, 6.0, 0.0).astype(np.float32)  # 1.2 x the threshold
    diff[12:15, 15:18] = 40.0  # the strong small thing
    thresh = np.full(mask.shape, 5.0, np.float32)
    found = extract_blobs(mask, diff, thresh, -diff, max_blobs=10, merge_radius=0)
    assert found is not None and len(found) == 5
    joined = merge_fragments(found, gap_frac=0.5, min_side=6)
    assert len(joined) == 3  # the cloth with its two near pieces; the thing; the far piece
    cloth = int(np.argmax(joined.area))
    assert joined.area[cloth] == 80 + 9 + 6
    assert (joined.x0[cloth], joined.y0[cloth]) == (20, 10)
    assert (joined.w[cloth], joined.h[cloth]) == (15, 13)
    # the area-weighted centroid of the three pieces
    assert joined.x[cloth] == pytest.approx((80 * 24.5 + 9 * 33 + 6 * 25) / 95)
    assert joined.y[cloth] == pytest.approx((80 * 13.5 + 9 * 11 + 6 * 21.5) / 95)
    # the strong thing beside it is a thing of its own, and keeps its place
    thing = np.flatnonzero((joined.x0 == 15) & (joined.y0 == 12))
    assert thing.size == 1 and joined.x[thing[0]] == pytest.approx(16.0)


def test_pieces_of_the_other_sign_or_with_nothing_large_stay_apart():
    mask = _cloth_mask()
    diff = np.where(mask > 0, 6.0, 0.0).astype(np.float32)
    thresh = np.full(mask.shape, 5.0, np.float32)
    signed = -diff
    signed[10:13, 32:35] = 6.0  # the piece on the right is brighter: something else
    found = extract_blobs(mask, diff, thresh, signed, max_blobs=10, merge_radius=0)
    assert found is not None
    joined = merge_fragments(found, gap_frac=0.5, min_side=6)
    assert len(joined) == len(found) - 2  # the piece below and the small thing joined
    assert ((joined.x0 == 32) & (joined.area == 9)).sum() == 1
    # nothing 12 px across or more: nothing joins; off: nothing joins
    assert len(merge_fragments(found, gap_frac=0.5, min_side=12)) == len(found)
    assert len(merge_fragments(found, gap_frac=0.0, min_side=6)) == len(found)
