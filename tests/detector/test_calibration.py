import numpy as np
import pytest

from detector.calibration import Balcony, FacadeCalibration
from detector.errors import CalibrationError


def _cal() -> FacadeCalibration:
    # pixels of a wall rectangle 40 m wide, from 10 m to 70 m high, seen in perspective
    img = np.array([[100.0, 900.0], [1800.0, 880.0], [1500.0, 100.0], [400.0, 120.0]])
    wall = np.array([[0.0, 10.0], [40.0, 10.0], [40.0, 70.0], [0.0, 70.0]])
    return FacadeCalibration(img, wall, floor_height_m=3.0, first_floor=1)


def test_corners_map_to_their_wall_points_and_back():
    cal = _cal()
    np.testing.assert_allclose(cal.to_wall(cal.image_points), cal.facade_points, atol=1e-6)
    np.testing.assert_allclose(cal.to_image(cal.facade_points), cal.image_points, atol=1e-6)


def test_known_homography_maps_a_point_to_the_right_wall_point_and_floor():
    h = np.array([[0.05, 0.01, -3.0], [0.002, -0.06, 65.0], [0.0, 0.0001, 1.0]])
    wall = np.array([[0.0, 0.0], [30.0, 0.0], [30.0, 45.0], [0.0, 45.0]])
    hinv = np.linalg.inv(h)
    ph = np.c_[wall, np.ones(4)] @ hinv.T
    img = ph[:, :2] / ph[:, 2:]
    cal = FacadeCalibration(img, wall, floor_height_m=3.0, first_floor=1)
    p = np.array([[12.0, 31.5]])  # 31.5 m up -> floor 1 + 10 = 11
    q = np.c_[p, [1.0]] @ hinv.T
    uv = q[:, :2] / q[:, 2:]
    np.testing.assert_allclose(cal.to_wall(uv), p, atol=1e-6)
    assert cal.floor_at(uv).tolist() == [11]


def test_floor_numbers_follow_height():
    cal = _cal()
    assert cal.floor_of_height(np.array([0.0, 2.99, 3.0, 29.9])).tolist() == [1, 1, 2, 10]
    cal0 = FacadeCalibration(cal.image_points, cal.facade_points, 3.0, first_floor=0)
    assert cal0.floor_of_height(6.5).item() == 2


@pytest.mark.parametrize(
    ("img", "wall", "fh"),
    [
        ([[0, 0], [1, 0], [2, 0], [0, 1]], [[0, 0], [1, 0], [1, 1], [0, 1]], 3.0),  # collinear
        ([[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 0], [1, 1]], 3.0),  # three points
        ([[0, 0], [1, 0], [1, 1], [0, 1]], [[0, 0], [1, 0], [1, 1], [0, 1]], 0.0),  # floor 0 m
    ],
)
def test_bad_points_raise_calibration_error(img, wall, fh):
    with pytest.raises(CalibrationError):
        FacadeCalibration(np.array(img, float), np.array(wall, float), fh)


def test_mapping_matches_scikit_image_bit_for_bit():
    """The mapping is scikit-image's ProjectiveTransform of the calibration's homography
    (and of its inverse), point for point."""
    from skimage.transform import ProjectiveTransform

    cal = _cal()
    rng = np.random.default_rng(5)
    uv = rng.uniform([-200.0, -200.0], [2100.0, 1300.0], size=(500, 2))
    assert np.array_equal(cal.to_wall(uv), ProjectiveTransform(cal.homography)(uv))
    xz = rng.uniform([-10.0, 0.0], [50.0, 90.0], size=(500, 2))
    inv = ProjectiveTransform(np.linalg.inv(cal.homography))
    assert np.array_equal(cal.to_image(xz), inv(xz))
    assert cal.to_wall([100.0, 900.0]).shape == (1, 2)  # one point as a flat pair



def test_a_point_in_a_balcony_stack_has_its_depth_and_a_storey_of_slack_in_height():
    img = np.array([[100.0, 900.0], [1800.0, 880.0], [1500.0, 100.0], [400.0, 120.0]])
    wall = np.array([[0.0, 10.0], [40.0, 10.0], [40.0, 70.0], [0.0, 70.0]])
    cal = FacadeCalibration(img, wall, 3.0, 1, balconies=(Balcony((8.0, 12.0), (3.0, 45.0), 1.2),
                                                          Balcony((20.0, 24.0), (3.0, 45.0), 0.9)))
    assert cal.balcony_depth(10.0, 20.0) == 1.2
    assert cal.balcony_depth(22.0, 20.0) == 0.9
    assert cal.balcony_depth(15.0, 20.0) is None  # between the stacks: a window
    assert cal.balcony_depth(10.0, 47.0) is None
    assert cal.balcony_depth(10.0, 47.0, z_slack_m=3.0) == 1.2
    assert cal.balcony_depth(13.0, 20.0, z_slack_m=3.0) is None  # no slack along the wall
    assert _cal().balcony_depth(10.0, 20.0) is None


@pytest.mark.parametrize("x, z, depth, word", [((12.0, 8.0), (3.0, 45.0), 1.2, "x_m"),
                                               ((8.0, 12.0), (45.0, 45.0), 1.2, "z_m"),
                                               ((8.0, 12.0), (3.0, 45.0), 0.0, "depth_m")])
def test_a_bad_balcony_is_a_calibration_error_naming_the_key(x, z, depth, word):
    with pytest.raises(CalibrationError, match=word):
        Balcony(x, z, depth)
