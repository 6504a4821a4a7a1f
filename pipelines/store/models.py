"""The store's tables (SQLAlchemy 2 declarative). Alembic migrations create them.

``events``: one row per detected fall. Times are stored twice, as UTC (timezone-aware
``DateTime``) and as stream seconds (``start_s``/``end_s`` from the camera connection's
first frame, ``stream_epoch_utc`` being the UTC of that first frame). ``status`` is
``writing`` while the evidence folder is being written, then ``complete`` (or ``failed``
when no evidence could be written); ``evidence_dir`` is relative to the data folder.

``cameras``: the live status of each camera, updated by the supervisor from the worker's
health reports. ``source`` is always the redacted URL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CameraRow(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str | None] = mapped_column(Text)  # redacted
    state: Mapped[str] = mapped_column(String(32), default="unknown")
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(BigInteger, default=0)
    dropped_frames: Mapped[int] = mapped_column(BigInteger, default=0)
    reconnects: Mapped[int] = mapped_column(Integer, default=0)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    lag_s: Mapped[float | None] = mapped_column(Float)
    max_lag_s: Mapped[float | None] = mapped_column(Float)
    last_frame_utc: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_utc: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    start_utc: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_utc: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stream_epoch_utc: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    time_source: Mapped[str] = mapped_column(String(32), default="arrival")
    floor: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    trajectory: Mapped[list[Any]] = mapped_column(JSON)
    origin: Mapped[dict[str, Any]] = mapped_column(JSON)
    evidence_dir: Mapped[str | None] = mapped_column(Text)
    evidence_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="writing")
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    faint_points: Mapped[int] = mapped_column(Integer, default=0)
    created_utc: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_utc: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_events_start_utc", "start_utc"),)


class TokenRow(Base):
    """An API token of the web service: only the sha256 of the secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_utc: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_utc: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_utc: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """One evidence download, export, hold change or token change by the web service."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time_utc: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    token_id: Mapped[int | None] = mapped_column(Integer)
    token_name: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str | None] = mapped_column(String(200), index=True)
    item: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    client: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(Text)
