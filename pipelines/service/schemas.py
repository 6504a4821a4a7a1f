"""Pydantic schemas of the API, one per use (``EventPublic``, ``EventsPublic``, ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["viewer", "investigator", "admin"]


class EventPublic(BaseModel):
    """An event as the API shows it. ``trajectory`` rows are ``[t_s, x_px, y_px]`` in the
    pixels of the camera's video; ``files`` names the evidence files that can be fetched
    (empty unless ``status`` is ``complete``)."""

    id: str
    camera_id: str
    start_utc: datetime
    end_utc: datetime
    start_s: float
    end_s: float
    score: float
    floor: int | None
    origin: dict[str, Any]
    trajectory: list[list[float]]
    status: Literal["writing", "complete", "failed"]
    legal_hold: bool
    time_source: str
    evidence_bytes: int
    completed_utc: datetime | None
    files: list[str]
    faint_points: int = Field(
        default=0, description="how many of the first trajectory rows were found by looking "
        "back under the detection threshold: weaker evidence than the detections after them")
    video_size: list[int] | None = Field(
        default=None, description="[width, height] of the camera's video, the pixels of "
        "trajectory and origin (from the manifest; on /api/events/{id} only)")


class EventsPublic(BaseModel):
    data: list[EventPublic]
    count: int = Field(description="events matching the filters, over all pages")
    offset: int
    limit: int


class HoldPublic(BaseModel):
    id: str
    legal_hold: bool


class CameraPublic(BaseModel):
    id: str
    source: str | None = Field(description="the camera's URL, credentials masked")
    state: str
    fps: float | None
    width: int | None
    height: int | None
    frames: int
    dropped_frames: int
    reconnects: int
    restarts: int
    lag_s: float | None
    last_frame_utc: datetime | None
    updated_utc: datetime | None
    error: str | None


class CamerasPublic(BaseModel):
    data: list[CameraPublic]
    count: int


class TokenCreate(BaseModel):
    role: Role
    name: str = Field(default="", max_length=128)


class TokenPublic(BaseModel):
    id: int
    name: str
    role: str
    created_utc: datetime
    revoked_utc: datetime | None
    last_used_utc: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="the secret: shown this once, only its hash is kept")


class TokensPublic(BaseModel):
    data: list[TokenPublic]
    count: int


class AuditPublic(BaseModel):
    id: int
    time_utc: datetime
    token_id: int | None
    token_name: str | None
    role: str | None
    action: str
    event_id: str | None
    item: str | None
    sha256: str | None
    bytes: int | None
    client: str | None
    detail: str | None


class AuditsPublic(BaseModel):
    data: list[AuditPublic]
    count: int
    offset: int
    limit: int


class Health(BaseModel):
    status: Literal["ok"]
    database: str
    events: int


class Me(BaseModel):
    id: int
    name: str
    role: str
