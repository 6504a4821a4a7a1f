"""Facade calibration: pixels -> wall metres -> floor number.

The facade is a plane. Four pixel points with their known wall coordinates
(x along the wall, z above the ground, both in metres) fix a homography from the
image to the wall; a point's floor is ``first_floor + floor(z / floor_height_m)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from skimage.transform import ProjectiveTransform

from detector.errors import CalibrationError


@dataclass(frozen=True)
class Balcony:
    """A stack of balconies on the facade: what is released there leaves from a rail
    ``depth_m`` in front of the wall, not from a window in it.

    Attributes:
        x_m: (lo, hi) along the wall, metres; z_m: (lo, hi) heights, metres.
        depth_m: how far the rail stands out from the wall, metres (> 0).
    """

    x_m: tuple[float, float]
    z_m: tuple[float, float]
    depth_m: float

    def __post_init__(self) -> None:
        for name, (lo, hi) in (("x_m", self.x_m), ("z_m", self.z_m)):
            if not lo < hi:
                raise CalibrationError(f"balcony {name} must be [low, high], got [{lo}, {hi}]")
        if not 0.0 < self.depth_m <= 5.0:
            raise CalibrationError(f"balcony depth_m must be in (0, 5], got {self.depth_m}")


@dataclass(frozen=True)
class FacadeCalibration:
    """Homography between image pixels and facade metres.

    Attributes:
        image_points: (4, 2) pixel coordinates ``[u, v]``.
        facade_points: (4, 2) wall coordinates ``[x, z]`` in metres.
        floor_height_m: storey height in metres.
        first_floor: the number of the floor at ``z = 0``.
        balconies: where releases leave from a balcony rail in front of the wall.
    """

    image_points: np.ndarray
    facade_points: np.ndarray
    floor_height_m: float
    first_floor: int = 1
    balconies: tuple[Balcony, ...] = ()
    _to_wall: ProjectiveTransform = field(init=False, repr=False, compare=False)
    _to_image: ProjectiveTransform = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        img = np.asarray(self.image_points, dtype=np.float64)
        wall = np.asarray(self.facade_points, dtype=np.float64)
        if img.shape != (4, 2) or wall.shape != (4, 2):
            raise CalibrationError(
                f"facade needs 4 image points and 4 facade points as [a, b] pairs, "
                f"got shapes {img.shape} and {wall.shape}"
            )
        if not (self.floor_height_m > 0):
            raise CalibrationError(f"floor_height_m must be > 0, got {self.floor_height_m}")
        for name, pts in (("image_points", img), ("facade_points", wall)):
            if _degenerate(pts):
                raise CalibrationError(
                    f"facade {name} has three points on one line: {pts.tolist()}"
                )
        to_wall = _estimate(img, wall)
        object.__setattr__(self, "image_points", img)
        object.__setattr__(self, "facade_points", wall)
        object.__setattr__(self, "_to_wall", to_wall)
        object.__setattr__(self, "_to_image", ProjectiveTransform(np.linalg.inv(to_wall.params)))

    @property
    def homography(self) -> np.ndarray:
        """(3, 3) matrix taking homogeneous pixels to homogeneous wall metres."""
        return np.asarray(self._to_wall.params)

    def to_wall(self, uv: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Map (N, 2) pixel points to (N, 2) wall points ``[x, z]`` in metres."""
        return _apply(self._to_wall.params, uv)

    def to_image(self, xz: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Map (N, 2) wall points ``[x, z]`` to (N, 2) pixels ``[u, v]``."""
        return _apply(self._to_image.params, xz)

    def floor_of_height(self, z_m: np.ndarray | float) -> np.ndarray:
        """Floor numbers for heights above ground in metres."""
        z = np.asarray(z_m, dtype=np.float64)
        return (self.first_floor + np.floor(z / self.floor_height_m)).astype(np.int64)

    def balcony_depth(self, x_m: float, z_m: float, z_slack_m: float = 0.0) -> float | None:
        """How far in front of the wall a release at wall point (``x_m``, ``z_m``) leaves
        from: the depth of the balcony there (its heights widened by ``z_slack_m`` each
        way), or None for none."""
        for b in self.balconies:
            if b.x_m[0] <= x_m <= b.x_m[1] and b.z_m[0] - z_slack_m <= z_m <= b.z_m[1] + z_slack_m:
                return b.depth_m
        return None

    def floor_at(self, uv: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """(N,) floor numbers of (N, 2) pixel points on the facade."""
        return self.floor_of_height(self.to_wall(uv)[:, 1])


def _apply(matrix: np.ndarray, pts: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """(N, 2) points mapped through the (3, 3) homography ``matrix``.

    The same arithmetic as calling the ``ProjectiveTransform`` (an exact zero in the
    homogeneous coordinate becomes the smallest float), without its per-call overhead:
    the tracker maps the points of new blobs every frame (three calls).
    """
    p = np.atleast_2d(np.asarray(pts, dtype=np.float64))
    h = p @ matrix[:, :2].T + matrix[:, 2]
    z = h[:, 2:3]
    z = np.where(z == 0, np.finfo(float).eps, z)
    out: np.ndarray = h[:, :2] / z
    return out


def _estimate(src: np.ndarray, dst: np.ndarray) -> ProjectiveTransform:
    """Fit the homography; scikit-image >= 0.26 has ``from_estimate``, older ones ``estimate``."""
    if hasattr(ProjectiveTransform, "from_estimate"):
        tform = ProjectiveTransform.from_estimate(src, dst)
        if bool(tform):
            return tform
    else:
        tform = ProjectiveTransform()
        if tform.estimate(src, dst):
            return tform
    raise CalibrationError("facade points do not define a homography")


def _degenerate(pts: np.ndarray) -> bool:
    """True when any three of the four points are (nearly) collinear."""
    scale = max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])), 1e-9)
    for i in range(4):
        a, b, c = (pts[j] for j in range(4) if j != i)
        area = abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
        if area < 1e-6 * scale * scale:
            return True
    return False
