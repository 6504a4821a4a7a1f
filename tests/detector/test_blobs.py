import numpy as np
import pytest

from detector.blobs import Blobs, extract_blobs


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
