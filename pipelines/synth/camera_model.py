"""A pinhole camera at the foot of a building, looking up at the facade.

World frame as in :mod:`pipelines.synth.physics`: the facade is the plane ``y = 0``,
``x`` runs along it, ``z`` is height; the camera stands in front of it at ``y < 0``.
Image axes: ``u`` to the right, ``v`` down, origin at the top-left pixel corner.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class PinholeCamera:
    """Camera position, orientation (yaw about z, pitch up, roll) and intrinsics."""

    position: tuple[float, float, float]
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    hfov_deg: float
    width: int
    height: int

    # focal_px, R and C are computed once per camera (the renderer projects every mover
    # in every frame); the cached arrays are read-only
    @cached_property
    def focal_px(self) -> float:
        return (self.width / 2.0) / float(np.tan(np.radians(self.hfov_deg) / 2.0))

    @property
    def K(self) -> np.ndarray:
        f = self.focal_px
        return np.array([[f, 0.0, self.width / 2.0], [0.0, f, self.height / 2.0], [0.0, 0.0, 1.0]])

    @cached_property
    def R(self) -> np.ndarray:
        """(3, 3) rotation whose rows are the camera's right, down and forward axes in world."""
        yaw, pitch, roll = (np.radians(a) for a in (self.yaw_deg, self.pitch_deg, self.roll_deg))
        fwd = np.array([np.sin(yaw) * np.cos(pitch), np.cos(yaw) * np.cos(pitch), np.sin(pitch)])
        right = np.array([np.cos(yaw), -np.sin(yaw), 0.0])
        down = np.cross(fwd, right)
        c, s = np.cos(roll), np.sin(roll)
        r2 = c * right + s * down
        d2 = -s * right + c * down
        rot = np.stack([r2, d2, fwd])
        rot.setflags(write=False)
        return rot

    @cached_property
    def C(self) -> np.ndarray:
        centre = np.array(self.position, dtype=np.float64)
        centre.setflags(write=False)
        return centre

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project (N, 3) world points to (N, 2) pixels; also return (N,) depths (metres).

        Points behind the camera get depth <= 0 and meaningless pixels.
        """
        pts = np.atleast_2d(np.asarray(pts, dtype=np.float64))
        pc = (pts - self.C) @ self.R.T
        depth = pc[:, 2]
        safe = np.where(np.abs(depth) < 1e-9, 1e-9, depth)
        f = self.focal_px
        uv = np.stack(
            [f * pc[:, 0] / safe + self.width / 2.0, f * pc[:, 1] / safe + self.height / 2.0],
            axis=1,
        )
        return uv, depth

    def rays(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """World directions (..., 3) of the rays through pixel coordinates ``u``, ``v``."""
        f = self.focal_px
        x = (np.asarray(u, dtype=np.float64) - self.width / 2.0) / f
        y = (np.asarray(v, dtype=np.float64) - self.height / 2.0) / f
        R = self.R
        return x[..., None] * R[0] + y[..., None] * R[1] + np.ones_like(x)[..., None] * R[2]

    def wall_to_image_homography(self) -> np.ndarray:
        """(3, 3) homography taking wall points ``[x, z, 1]`` (plane y = 0) to pixels."""
        P = self.K @ np.hstack([self.R, (-self.R @ self.C)[:, None]])
        return P[:, [0, 2, 3]]
