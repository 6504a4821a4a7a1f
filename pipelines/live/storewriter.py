"""``StoreWriter``: the supervisor's writes to the event store, off its loop and in order.

The supervisor must keep reading its workers' heartbeats even while the database is slow
or down, so it only queues writes here. A thread applies them in order; one that fails
because the database is unreachable (a restart, a dropped connection, a lock) is retried,
with backoff, until it succeeds, so no event is lost to a short outage; one the store
refuses (``StoreError``: a duplicate, an unknown event) is logged and dropped. Camera
status is coalesced: only the newest status of each camera waits, written after the
queued operations.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from pipelines.redact import redact_text
from pipelines.store import CameraStatus, EventStore, StoreError

log = logging.getLogger(__name__)

__all__ = ["StoreWriter"]

# the database is unreachable, restarting or locked: try again later
_TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


class StoreWriter:
    """Applies queued store operations on a thread (see the module docstring)."""

    def __init__(self, store: EventStore, max_backoff_s: float = 10.0) -> None:
        self.store = store
        self.max_backoff_s = max_backoff_s
        self._ops: deque[tuple[str, Callable[..., Any], tuple[Any, ...]]] = deque()
        self._status: dict[str, CameraStatus] = {}
        self._cv = threading.Condition()
        self._closing = False
        self._busy = False
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def call(self, what: str, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)`` (``what`` names it in the log); returns at once."""
        with self._cv:
            self._ops.append((what, fn, args))
            self._cv.notify()

    def put_camera(self, status: CameraStatus) -> None:
        """Queue a camera's status, replacing any older one still waiting."""
        with self._cv:
            self._status[status.id] = status
            self._cv.notify()

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued is written (True) or ``timeout`` passes (False)."""
        end = time.monotonic() + timeout
        with self._cv:
            while self._ops or self._status or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.1))
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued (for up to ``timeout`` s), then stop the thread."""
        if not self.flush(timeout):
            with self._cv:
                left = len(self._ops) + len(self._status)
            log.error("event store %s: %d writes could not be made before shutdown",
                      self.store.label, left)
        with self._cv:
            self._closing = True
            self._cv.notify()
        self._thread.join(5.0)

    def _next(self) -> tuple[str, Callable[..., Any], tuple[Any, ...]] | None:
        with self._cv:
            while not (self._ops or self._status or self._closing):
                self._cv.wait()
            if self._ops:
                item = self._ops.popleft()
            elif self._status:
                status = self._status.pop(next(iter(self._status)))
                item = (f"status of {status.id}", self.store.put_camera, (status,))
            else:
                return None
            self._busy = True
            return item

    def _run(self) -> None:
        backoff = 0.25
        while True:
            item = self._next()
            if item is None:
                return
            what, fn, args = item
            try:
                fn(*args)
                backoff = 0.25
            except StoreError as exc:  # refused (a duplicate, an unknown event): not retried
                log.error("event store: %s refused: %s", what, exc)
            except _TRANSIENT as exc:
                self.failures += 1
                log.error("event store: %s failed (retrying in %.1f s): %s", what, backoff,
                          redact_text(str(exc).splitlines()[0] if str(exc) else repr(exc)))
                with self._cv:
                    if what.startswith("status of "):
                        self._status.setdefault(args[0].id, args[0])
                    else:
                        self._ops.appendleft(item)
                    self._busy = False
                    if self._closing:
                        return
                time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            except Exception:  # a bug in one operation must not stop every later write
                log.exception("event store: %s failed", what)
            with self._cv:
                self._busy = False
                self._cv.notify_all()
