"""``EventStore``: the events and camera status of ``fallwatch watch``, in SQL.

SQLite in WAL mode under the data folder by default (``DIR/fallwatch.db``), any SQLAlchemy
URL otherwise (``postgresql+psycopg://user@host:port/db``). Opening a store applies the
alembic migrations shipped inside this package, so an older database is brought up to date.

    store = EventStore.open(data_dir)                      # or url="postgresql+psycopg://..."
    store.add_event(record)                                # status "writing"
    store.complete_event(record.id, "evidence/cam_.../", 1_234_567)
    store.list_events(camera="tower-3", status="complete")
    store.set_legal_hold(record.id, True)

Only one process writes (the supervisor); readers (the web service) may open the same
database at the same time. Every time returned is an aware UTC ``datetime``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from detector.errors import FallwatchError
from pipelines.redact import redact_text
from pipelines.store.models import CameraRow, EventRow

log = logging.getLogger(__name__)

__all__ = ["CameraStatus", "EventRecord", "EventStore", "StoreError"]

EVENT_STATUSES = ("writing", "complete", "failed")


class StoreError(FallwatchError):
    """The event store could not be opened or refused an operation (names the database)."""


def _json_ready(record: Any) -> dict[str, Any]:
    """A record dataclass as a dict with its times as ISO 8601 UTC strings."""
    out: dict[str, Any] = asdict(record)
    for k, v in out.items():
        if isinstance(v, datetime):
            out[k] = v.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return out


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@dataclass(frozen=True)
class EventRecord:
    """One event as stored.

    ``trajectory`` rows are ``[t_s, x_px, y_px]`` (stream seconds, input pixels);
    ``origin`` is ``{"t_s", "x_px", "y_px", "floor"}``; ``start_s``/``end_s`` are stream
    seconds after ``stream_epoch_utc``; ``evidence_dir`` is relative to the data folder;
    ``faint_points`` counts the first trajectory rows found by looking back under the
    detection threshold (weaker evidence than detections).
    """

    id: str
    camera_id: str
    start_utc: datetime
    end_utc: datetime
    start_s: float
    end_s: float
    score: float
    trajectory: list[list[float]]
    origin: dict[str, Any]
    floor: int | None = None
    stream_epoch_utc: datetime | None = None
    time_source: str = "arrival"
    evidence_dir: str | None = None
    evidence_bytes: int = 0
    status: str = "writing"
    legal_hold: bool = False
    faint_points: int = 0
    created_utc: datetime = field(default_factory=lambda: datetime.now(UTC))
    completed_utc: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (times as ISO 8601 strings)."""
        return _json_ready(self)

    @classmethod
    def _from_row(cls, row: EventRow) -> EventRecord:
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        for k in ("start_utc", "end_utc", "stream_epoch_utc", "created_utc", "completed_utc"):
            values[k] = _utc(values[k])
        return cls(**values)


@dataclass(frozen=True)
class CameraStatus:
    """A camera's live status: ``state`` is one of starting, connecting, streaming,
    reconnecting, restarting, stopped; counters are since the supervisor started;
    ``worker_pid`` is the camera's worker process; ``error`` the last trouble (kept after
    the camera recovers, credentials masked)."""

    id: str
    source: str | None = None
    state: str = "starting"
    worker_pid: int | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    frames: int = 0
    dropped_frames: int = 0
    reconnects: int = 0
    restarts: int = 0
    lag_s: float | None = None
    max_lag_s: float | None = None
    last_frame_utc: datetime | None = None
    updated_utc: datetime | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (times as ISO 8601 strings)."""
        return _json_ready(self)

    @classmethod
    def _from_row(cls, row: CameraRow) -> CameraStatus:
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        values["last_frame_utc"] = _utc(values["last_frame_utc"])
        values["updated_utc"] = _utc(values["updated_utc"])
        return cls(**values)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


_MIGRATE_ATTEMPTS = 8


def _may_be_concurrent(exc: BaseException) -> bool:
    """Errors a concurrent migration of the same database can cause (table already there,
    unique version row, database locked), as opposed to an unreachable server."""
    text = str(exc).lower()
    return any(k in text for k in ("already exists", "duplicate", "locked", "unique",
                                   "no such table", "does not exist"))


def migrate(engine: Engine) -> None:
    """Bring the database behind ``engine`` to the newest schema (alembic ``upgrade head``)."""
    script_dir = resources.files("pipelines.store") / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(script_dir))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _filtered(q: Any, *, camera: str | None, status: str | None, since: datetime | None,
              until: datetime | None, legal_hold: bool | None, floor: int | None,
              min_score: float | None) -> Any:
    """``q`` with the event filters of ``list_events``/``count_events`` applied."""
    if camera is not None:
        q = q.where(EventRow.camera_id == camera)
    if status is not None:
        q = q.where(EventRow.status == status)
    if since is not None:
        q = q.where(EventRow.start_utc >= since)
    if until is not None:
        q = q.where(EventRow.start_utc < until)
    if legal_hold is not None:
        q = q.where(EventRow.legal_hold == legal_hold)
    if floor is not None:
        q = q.where(EventRow.floor == floor)
    if min_score is not None:
        q = q.where(EventRow.score >= min_score)
    return q


class EventStore:
    """Events and camera status in one SQL database (see the module docstring)."""

    def __init__(self, engine: Engine, label: str) -> None:
        self.engine = engine
        self.label = label  # the database, credentials redacted, for messages
        self._session = sessionmaker(engine, expire_on_commit=False)

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, data_dir: str | Path | None = None, url: str | None = None) -> EventStore:
        """Open (creating and migrating as needed) ``url``, else ``DATA_DIR/fallwatch.db``.

        Raises ``StoreError`` naming the database (its credentials masked) when it cannot
        be reached or migrated.
        """
        if url is None:
            if data_dir is None:
                raise StoreError("no database: expected a data folder or a database URL")
            folder = Path(data_dir)
            folder.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{folder.resolve() / 'fallwatch.db'}"
        label = redact_text(url)
        try:
            engine = create_engine(url, pool_pre_ping=True)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(
                f"{label}: cannot open the event store: {redact_text(str(exc))}"
            ) from None
        for attempt in range(_MIGRATE_ATTEMPTS):
            try:
                migrate(engine)
                break
            except (SQLAlchemyError, OSError) as exc:
                # another process (the supervisor, the web service) may be migrating the
                # same database right now: once it is done, upgrading is a no-op
                if attempt == _MIGRATE_ATTEMPTS - 1 or not _may_be_concurrent(exc):
                    engine.dispose()
                    raise StoreError(
                        f"{label}: cannot open the event store: {redact_text(str(exc))}"
                    ) from None
                log.info("%s: migration attempt %d failed (%s); retrying", label,
                         attempt + 1, type(exc).__name__)
                time.sleep(0.2 * (attempt + 1))
        log.info("event store %s (%s)", label, engine.dialect.name)
        return cls(engine, label)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._session.begin() as s:
            yield s

    # -- cameras -------------------------------------------------------------------------
    def put_camera(self, status: CameraStatus) -> None:
        """Insert or replace a camera's status (``source`` is redacted before it is stored)."""
        values = asdict(status)
        if values["source"] is not None:
            values["source"] = redact_text(values["source"])
        if values["error"] is not None:
            values["error"] = redact_text(values["error"])
        values["updated_utc"] = values["updated_utc"] or datetime.now(UTC)
        with self.session() as s:
            row = s.get(CameraRow, status.id)
            if row is None:
                s.add(CameraRow(**values))
            else:
                for k, v in values.items():
                    setattr(row, k, v)

    def get_camera(self, camera_id: str) -> CameraStatus | None:
        with self.session() as s:
            row = s.get(CameraRow, camera_id)
            return CameraStatus._from_row(row) if row is not None else None

    def list_cameras(self) -> list[CameraStatus]:
        with self.session() as s:
            rows = s.scalars(select(CameraRow).order_by(CameraRow.id)).all()
            return [CameraStatus._from_row(r) for r in rows]

    # -- events --------------------------------------------------------------------------
    def add_event(self, record: EventRecord) -> None:
        """Store a new event (normally with status ``writing``); its camera row must exist
        or is created with state ``unknown``."""
        if record.status not in EVENT_STATUSES:
            raise StoreError(f"{self.label}: event {record.id}: status {record.status!r} "
                             f"(expected one of {', '.join(EVENT_STATUSES)})")
        values = {f.name: getattr(record, f.name) for f in fields(record)}
        with self.session() as s:
            if s.get(CameraRow, record.camera_id) is None:
                s.add(CameraRow(id=record.camera_id, state="unknown", frames=0,
                                dropped_frames=0, reconnects=0, restarts=0))
                s.flush()
            if s.get(EventRow, record.id) is not None:
                raise StoreError(f"{self.label}: event {record.id} is already stored")
            s.add(EventRow(**values))

    def complete_event(self, event_id: str, evidence_dir: str, evidence_bytes: int) -> None:
        """The event's evidence folder is whole: list it as ``complete``."""
        with self.session() as s:
            row = self._row(s, event_id)
            row.evidence_dir = evidence_dir
            row.evidence_bytes = int(evidence_bytes)
            row.status = "complete"
            row.completed_utc = datetime.now(UTC)

    def fail_event(self, event_id: str, reason: str) -> None:
        """No evidence could be written for the event: list it as ``failed``."""
        with self.session() as s:
            row = self._row(s, event_id)
            row.status = "failed"
            row.completed_utc = datetime.now(UTC)
        log.warning("event %s: evidence failed: %s", event_id, redact_text(reason))

    def set_legal_hold(self, event_id: str, hold: bool = True) -> None:
        """Put an event on legal hold (retention never deletes it) or release it."""
        with self.session() as s:
            self._row(s, event_id).legal_hold = bool(hold)

    def get_event(self, event_id: str) -> EventRecord | None:
        with self.session() as s:
            row = s.get(EventRow, event_id)
            return EventRecord._from_row(row) if row is not None else None

    def list_events(
        self,
        *,
        camera: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        legal_hold: bool | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = True,
        floor: int | None = None,
        min_score: float | None = None,
    ) -> list[EventRecord]:
        """Events filtered by camera, status, start time range ``[since, until)``, hold,
        origin floor and minimum score."""
        q = _filtered(select(EventRow), camera=camera, status=status, since=since,
                      until=until, legal_hold=legal_hold, floor=floor, min_score=min_score)
        order = EventRow.start_utc.desc() if newest_first else EventRow.start_utc.asc()
        q = q.order_by(order, EventRow.id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self.session() as s:
            return [EventRecord._from_row(r) for r in s.scalars(q).all()]

    def count_events(
        self,
        *,
        camera: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        legal_hold: bool | None = None,
        floor: int | None = None,
        min_score: float | None = None,
    ) -> int:
        """How many events ``list_events`` with the same filters would return (no limit)."""
        q = _filtered(select(func.count()).select_from(EventRow), camera=camera,
                      status=status, since=since, until=until, legal_hold=legal_hold,
                      floor=floor, min_score=min_score)
        with self.session() as s:
            return int(s.scalar(q) or 0)

    def evidence_bytes(self) -> int:
        """Total size of the evidence of all stored events."""
        with self.session() as s:
            return int(s.scalar(select(func.coalesce(func.sum(EventRow.evidence_bytes), 0)))
                       or 0)

    def delete_event(self, event_id: str) -> None:
        """Remove an event's row (its evidence folder is the caller's; see retention).
        Refuses an event on legal hold."""
        with self.session() as s:
            row = self._row(s, event_id)
            if row.legal_hold:
                raise StoreError(f"{self.label}: event {event_id} is on legal hold; "
                                 "release the hold before deleting it")
            s.delete(row)

    def _row(self, s: Session, event_id: str) -> EventRow:
        row = s.get(EventRow, event_id)
        if row is None:
            raise StoreError(f"{self.label}: no event {event_id!r}")
        return row
