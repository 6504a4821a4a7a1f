"""The event store of ``fallwatch watch`` (and, later, of the web service).

``EventStore`` (``db.py``): events and camera status through SQLAlchemy 2, SQLite in WAL
mode under the data folder by default or PostgreSQL by URL; alembic migrations ship in
``migrations/`` and run on open. ``apply_retention`` (``retention.py``) deletes evidence by
age, size quota and free-space floor, oldest first, never an event on legal hold.
"""

from pipelines.store.db import CameraStatus, EventRecord, EventStore, StoreError
from pipelines.store.retention import (
    RetentionPolicy,
    apply_retention,
    delete_event_with_evidence,
)

__all__ = [
    "CameraStatus",
    "EventRecord",
    "EventStore",
    "RetentionPolicy",
    "StoreError",
    "apply_retention",
    "delete_event_with_evidence",
]
