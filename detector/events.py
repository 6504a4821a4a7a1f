"""Events: what the detector reports for each falling object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Origin:
    """Release point of a falling object.

    Attributes:
        t_s: seconds from the start of the video.
        x_px, y_px: position in input pixels.
        floor: floor number (None without a facade calibration).
    """

    t_s: float
    x_px: float
    y_px: float
    floor: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"t_s": round(self.t_s, 3), "x_px": round(self.x_px, 1),
                "y_px": round(self.y_px, 1), "floor": self.floor}


@dataclass
class Event:
    """One detected falling object.

    Attributes:
        id: deterministic id, ``f"{start_s:.2f}-{track id}"`` (same input, same ids).
        start_s, end_s: first and last detection, seconds from the start of the video.
        score: confidence in [0, 1].
        trajectory: (N, 3) float64 rows ``[t_s, x_px, y_px]`` in input pixels.
        origin: the release point.
        accel: fitted downward acceleration in ``accel_units``.
        accel_units: "m/s^2" (facade calibration) or "px/s^2".
        fall_px: downward travel over the trajectory, input px.
        fall_m: downward travel along the wall in metres (None without calibration).
        n_points: number of detections.
        physics_score: the physics part of ``score``.
        classifier_score: the classifier's score, None when no classifier judged it.
        faint_points: how many of the first trajectory rows were found by looking back
            along the track, under the detection threshold (see :mod:`detector.retrace`);
            0 when the whole trajectory was detected.
    """

    id: str
    start_s: float
    end_s: float
    score: float
    trajectory: np.ndarray
    origin: Origin
    accel: float = 0.0
    accel_units: str = "px/s^2"
    fall_px: float = 0.0
    fall_m: float | None = None
    n_points: int = 0
    physics_score: float = 0.0
    classifier_score: float | None = None
    faint_points: int = 0

    def __post_init__(self) -> None:
        traj = np.asarray(self.trajectory, dtype=np.float64)
        if traj.ndim != 2 or traj.shape[1] != 3:
            raise ValueError(f"Event.trajectory must be (N, 3) [t_s, x_px, y_px], got {traj.shape}")
        self.trajectory = traj
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Event.score must be in [0, 1], got {self.score}")

    def to_json(self) -> dict[str, Any]:
        """The event in the form of the public ``events`` list (without ``clip``)."""
        return {
            "id": self.id,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "score": round(self.score, 3),
            "trajectory": [[round(float(t), 3), round(float(x), 1), round(float(y), 1)]
                           for t, x, y in self.trajectory],
            "origin": self.origin.to_json(),
        }
