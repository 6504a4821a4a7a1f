"""The camera file (YAML): a camera's id, source, facade calibration, exclusions.

The form is part of the public contract (see the README). Unknown keys are errors
that name the key and the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from detector.calibration import Balcony, FacadeCalibration
from detector.config import DetectorConfig
from detector.errors import CalibrationError
from pipelines.errors import CameraFileError

Point = tuple[float, float]


class BalconySpec(BaseModel):
    """A stack of balconies: a box on the wall (metres, the facade points' frame) and how
    far its rail stands in front of the wall."""

    model_config = ConfigDict(extra="forbid")

    x_m: Point
    z_m: Point
    depth_m: float = Field(gt=0.0, le=5.0)

    @field_validator("x_m", "z_m")
    @classmethod
    def _ordered(cls, v: Point) -> Point:
        if not v[0] < v[1]:
            raise ValueError(f"must be [low, high], got {list(v)}")
        return v


class FacadeSpec(BaseModel):
    """Four image points and their wall coordinates, with the storey height; optionally
    the balconies (a release there is placed at the rail, in front of the wall)."""

    model_config = ConfigDict(extra="forbid")

    image_points: list[Point] = Field(min_length=4, max_length=4)
    facade_points: list[Point] = Field(min_length=4, max_length=4)
    floor_height_m: float = Field(gt=0.5, le=20.0)
    first_floor: int = 1
    balconies: list[BalconySpec] = Field(default_factory=list)

    def calibration(self) -> FacadeCalibration:
        return FacadeCalibration(
            image_points=self.image_points,  # type: ignore[arg-type]
            facade_points=self.facade_points,  # type: ignore[arg-type]
            floor_height_m=self.floor_height_m,
            first_floor=self.first_floor,
            balconies=tuple(Balcony(b.x_m, b.z_m, b.depth_m) for b in self.balconies),
        )


class CameraFile(BaseModel):
    """One camera: what it is called, where its stream is, how its facade maps to floors."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    source: str | None = None
    facade: FacadeSpec | None = None
    exclude: list[list[Point]] = Field(default_factory=list)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)

    @field_validator("exclude")
    @classmethod
    def _polygons(cls, polys: list[list[Point]]) -> list[list[Point]]:
        for i, poly in enumerate(polys):
            if len(poly) < 3:
                raise ValueError(f"exclude polygon {i} has {len(poly)} points, needs at least 3")
        return polys

    def calibration(self) -> FacadeCalibration | None:
        return self.facade.calibration() if self.facade is not None else None


def describe_validation_error(err: ValidationError) -> str:
    """One line naming each bad key of a pydantic validation error (unknown keys too)."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            parts.append(f"unknown key '{loc}'")
        else:
            parts.append(f"'{loc}': {e['msg']} (got {e.get('input')!r})")
    return "; ".join(parts)


def parse_camera(data: Any, origin: str) -> CameraFile:
    """Validate a camera mapping; ``origin`` names it in errors (a path, say)."""
    if not isinstance(data, dict):
        raise CameraFileError(
            f"{origin}: expected a mapping of camera keys, got {type(data).__name__}"
        )
    try:
        cam = CameraFile.model_validate(data)
    except ValidationError as e:
        raise CameraFileError(f"{origin}: {describe_validation_error(e)}") from None
    try:
        cam.calibration()
    except CalibrationError as e:
        raise CameraFileError(f"{origin}: facade: {e}") from None
    return cam


def load_camera(path: str | Path) -> CameraFile:
    """Read and validate a camera file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CameraFileError(f"{p}: camera file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CameraFileError(f"{p}: cannot read camera file: {e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CameraFileError(f"{p}: not valid YAML: {e}") from None
    return parse_camera(data, str(p))


def dump_camera(cam: CameraFile) -> str:
    """YAML text of a camera file, in the contract's key order."""
    data: dict[str, Any] = {"id": cam.id}
    if cam.source is not None:
        data["source"] = cam.source
    if cam.facade is not None:
        f = cam.facade
        data["facade"] = {
            "image_points": [[round(float(a), 2), round(float(b), 2)] for a, b in f.image_points],
            "facade_points": [[round(float(a), 3), round(float(b), 3)] for a, b in f.facade_points],
            "floor_height_m": float(f.floor_height_m),
            "first_floor": int(f.first_floor),
        }
        if f.balconies:
            data["facade"]["balconies"] = [
                {"x_m": [round(float(a), 3) for a in b.x_m],
                 "z_m": [round(float(a), 3) for a in b.z_m], "depth_m": float(b.depth_m)}
                for b in f.balconies]
    if cam.exclude:
        data["exclude"] = [[[float(a), float(b)] for a, b in poly] for poly in cam.exclude]
    det = cam.detector.model_dump(exclude_defaults=True)
    if det:
        data["detector"] = det
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
