"""The supervisor: one worker process per camera, kept alive, their reports put to use.

Each camera's ``CameraWorker`` runs in its own process (``spawn``), so a stream that
crashes or hangs its decoder stops nobody else. Workers report on one queue; the
supervisor writes events and camera status to the store, sends alerts (at once, when
the event is confirmed: the evidence follows when written), forwards the workers' log
records to its own handlers, runs retention now and then, and restarts a worker that
died or has not reported for ``heartbeat_timeout_s`` (killed first: a stopped or hung
process does not get to finish). ``stop()`` (or SIGTERM/SIGINT in ``fallwatch watch``)
asks every worker to stop, waits, then kills stragglers.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.alerts import Alerts
from pipelines.camera import CameraFile
from pipelines.live.site import LiveSettings
from pipelines.live.storewriter import StoreWriter
from pipelines.live.worker import EventFound, EvidenceDone, Health, WorkerConfig, worker_main
from pipelines.redact import redact_text
from pipelines.store import (
    CameraStatus,
    EventRecord,
    EventStore,
    RetentionPolicy,
    apply_retention,
)

log = logging.getLogger(__name__)

__all__ = ["Supervisor"]


@dataclass
class _Slot:
    camera: CameraFile
    process: Any = None
    stop: Any = None
    queue: Any = None  # its own queue: a worker killed mid-write can only spoil its own
    started: float = 0.0
    last_seen: float = 0.0
    restarts: int = 0
    next_start: float = 0.0
    # counters of earlier incarnations of the worker (added to the live ones)
    base: dict[str, int] = field(default_factory=lambda: {"received": 0, "frames": 0,
                                                          "dropped": 0, "reconnects": 0})
    last: Health | None = None
    last_status_pub: float = 0.0
    last_state: str = ""


def _parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class Supervisor:
    """Runs the cameras' workers (see the module docstring)."""

    def __init__(
        self,
        cameras: list[CameraFile],
        settings: LiveSettings,
        data_dir: Path,
        store: EventStore,
        alerts: Alerts | None = None,
        retention: RetentionPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.store = store
        self.writer = StoreWriter(store)
        self.alerts = alerts or Alerts()
        self.retention = retention
        self._ctx = mp.get_context("spawn")
        self._slots = {c.id: _Slot(c) for c in cameras}
        self._stop = threading.Event()
        self._last_retention = 0.0

    # -- lifecycle ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask ``run`` to stop (safe from a signal handler or another thread)."""
        self._stop.set()

    def run(self) -> None:
        """Start every worker and supervise until ``stop()``; then shut them down."""
        for slot in self._slots.values():
            self.writer.put_camera(CameraStatus(id=slot.camera.id,
                                               source=redact_text(slot.camera.source or ""),
                                               state="starting"))
            # no worker runs yet: an event still "writing" was left by an earlier run
            self.writer.call(f"settling the evidence of {slot.camera.id}",
                             self._settle_evidence, slot.camera.id)
            self._start(slot)
        try:
            while not self._stop.is_set():
                self._pump(0.2)
                self._check()
                self._maybe_retain()
        finally:
            self._shutdown()

    def worker_pids(self) -> dict[str, int | None]:
        """The current worker process id of each camera."""
        return {cid: (s.process.pid if s.process is not None else None)
                for cid, s in self._slots.items()}

    def _start(self, slot: _Slot) -> None:
        cfg = WorkerConfig(slot.camera, self.settings, self.data_dir,
                           logging.getLogger().getEffectiveLevel())
        slot.stop = self._ctx.Event()
        slot.queue = self._ctx.Queue()
        slot.process = self._ctx.Process(target=worker_main, args=(cfg, slot.queue, slot.stop),
                                         name=f"fallwatch-{slot.camera.id}", daemon=True)
        slot.process.start()
        slot.started = slot.last_seen = time.monotonic()
        log.info("camera %s: worker started (pid %s)", slot.camera.id, slot.process.pid)

    def _restart(self, slot: _Slot, why: str) -> None:
        proc = slot.process
        if proc is not None and proc.is_alive():
            proc.kill()  # SIGKILL also ends a stopped (SIGSTOP) process
        if proc is not None:
            proc.join(5.0)
        if slot.last is not None:
            for k in slot.base:
                slot.base[k] += int(getattr(slot.last, k))
            slot.last = None
        slot.restarts += 1
        backoff = min(self.settings.restart_backoff_s * 2 ** min(slot.restarts - 1, 5), 30.0)
        if time.monotonic() - slot.started > 120.0:
            backoff = self.settings.restart_backoff_s
        log.error("camera %s: worker %s: %s; restarting in %.1f s (restart %d)",
                  slot.camera.id, proc.pid if proc is not None else "?", why, backoff,
                  slot.restarts)
        self._pump_slot(slot)
        slot.process = None
        slot.queue = None
        slot.next_start = time.monotonic() + backoff
        self.writer.call(f"settling the evidence of {slot.camera.id}",
                         self._settle_evidence, slot.camera.id)
        self._put_status(slot, "restarting", error=why)

    def _settle_evidence(self, camera_id: str) -> None:
        """Events of a dead worker still marked ``writing``: complete when their folder was
        renamed into place (the report was lost), failed otherwise."""
        from pipelines.store.retention import folder_bytes

        for ev in self.store.list_events(camera=camera_id, status="writing"):
            folder = self.data_dir / (ev.evidence_dir or "")
            if ev.evidence_dir and (folder / "event.json").is_file():
                self.store.complete_event(ev.id, ev.evidence_dir, folder_bytes(folder))
            else:
                self.store.fail_event(ev.id, "the worker died before its evidence was "
                                      "written")

    def _check(self) -> None:
        now = time.monotonic()
        for slot in self._slots.values():
            if slot.process is None:
                if now >= slot.next_start and not self._stop.is_set():
                    self._start(slot)
                continue
            if not slot.process.is_alive():
                self._restart(slot, f"exited with code {slot.process.exitcode}")
            elif now - slot.last_seen > self.settings.heartbeat_timeout_s:
                self._restart(slot, f"silent for {now - slot.last_seen:.1f} s (hung)")

    def _shutdown(self) -> None:
        for slot in self._slots.values():
            if slot.stop is not None:
                slot.stop.set()
        deadline = time.monotonic() + self.settings.shutdown_timeout_s
        killed = []
        for slot in self._slots.values():
            proc = slot.process
            while proc is not None and proc.is_alive() and time.monotonic() < deadline:
                self._pump(0.1)
            if proc is not None and proc.is_alive():
                log.warning("camera %s: worker %s did not stop within %g s; killing it",
                            slot.camera.id, proc.pid, self.settings.shutdown_timeout_s)
                proc.kill()
                killed.append(slot.camera.id)
            if proc is not None:
                proc.join(5.0)
        self._pump(0.0, drain=True)
        for camera_id in killed:  # their unfinished evidence will never come
            self.writer.call(f"settling the evidence of {camera_id}", self._settle_evidence,
                             camera_id)
        for slot in self._slots.values():
            self._put_status(slot, "stopped")
        self.writer.close()
        self.alerts.close()
        log.info("supervisor stopped")

    # -- messages ------------------------------------------------------------------------
    def _pump(self, timeout: float, drain: bool = False) -> None:
        """Handle the workers' messages for ``timeout`` seconds (or until none are left)."""
        end = time.monotonic() + timeout
        while True:
            got = sum(self._pump_slot(slot) for slot in self._slots.values())
            if drain and not got:
                return
            if time.monotonic() >= end:
                return
            if not got:
                time.sleep(0.02)

    def _pump_slot(self, slot: _Slot, limit: int = 200) -> int:
        n = 0
        while slot.queue is not None and n < limit:
            try:
                msg = slot.queue.get_nowait()
            except (queue.Empty, EOFError, OSError, ValueError):
                break
            n += 1
            self._handle(msg)
        return n

    def _handle(self, msg: Any) -> None:
        if isinstance(msg, logging.LogRecord):
            logging.getLogger(msg.name).handle(msg)
            return
        slot = self._slots.get(getattr(msg, "camera", ""))
        if slot is None:
            return
        slot.last_seen = time.monotonic()
        if isinstance(msg, Health):
            if slot.process is not None and msg.pid != slot.process.pid:
                return  # a late report of a worker already replaced
            slot.last = msg
            self._put_status(slot, msg.state)
        elif isinstance(msg, EventFound):
            self._event(msg)
        elif isinstance(msg, EvidenceDone):
            if msg.ok:
                self.writer.call(f"completing event {msg.event_id}", self.store.complete_event,
                                 msg.event_id, msg.evidence_dir, msg.bytes)
            else:
                self.writer.call(f"failing event {msg.event_id}", self.store.fail_event,
                                 msg.event_id, msg.error or "unknown error")

    def _event(self, msg: EventFound) -> None:
        doc = msg.doc
        self.alerts.event(msg.camera, doc)  # first: the alert must not wait for the store
        self.writer.call(f"adding event {doc['id']}", self.store.add_event, EventRecord(
            id=doc["id"], camera_id=msg.camera, start_utc=_parse_utc(doc["start_utc"]),
            end_utc=_parse_utc(doc["end_utc"]), start_s=doc["start_s"], end_s=doc["end_s"],
            score=doc["score"], trajectory=doc["trajectory"], origin=doc["origin"],
            floor=doc["floor"], stream_epoch_utc=_parse_utc(doc["stream_epoch_utc"]),
            time_source=doc["time_source"], evidence_dir=doc["evidence_dir"],
            faint_points=int(doc.get("faint_points", 0)), status="writing"))

    def _put_status(self, slot: _Slot, state: str, error: str | None = None) -> None:
        h = slot.last
        b = slot.base
        status = CameraStatus(
            id=slot.camera.id,
            source=redact_text(slot.camera.source or ""),
            state=state,
            worker_pid=slot.process.pid if slot.process is not None else None,
            fps=h.fps if h else None,
            width=h.width if h else None,
            height=h.height if h else None,
            frames=b["frames"] + (h.frames if h else 0),
            dropped_frames=b["dropped"] + (h.dropped if h else 0),
            reconnects=b["reconnects"] + (h.reconnects if h else 0),
            restarts=slot.restarts,
            lag_s=h.lag_s if h else None,
            max_lag_s=h.max_lag_s if h else None,
            last_frame_utc=h.last_frame_utc if h else None,
            error=redact_text(error if error is not None else (h.error if h else None) or "")
            or None,
        )
        self.writer.put_camera(status)
        now = time.monotonic()
        if state != slot.last_state or now - slot.last_status_pub > 10.0:
            slot.last_state, slot.last_status_pub = state, now
            self.alerts.status(slot.camera.id, status.to_json())

    def _maybe_retain(self) -> None:
        if self.retention is None:
            return
        now = time.monotonic()
        if self._last_retention and now - self._last_retention < self.retention.interval_s:
            return
        self._last_retention = now
        self.writer.call("retention", self._retain, self.retention)

    def _retain(self, policy: RetentionPolicy) -> None:
        try:
            report = apply_retention(self.store, self.data_dir, policy)
        except OSError as exc:
            log.error("retention: %s", exc)
            return
        if report.deleted:
            log.info("retention: %d events deleted, %d bytes freed", len(report.deleted),
                     report.freed_bytes)


def install_signal_handlers(supervisor: Supervisor) -> None:
    """SIGTERM and SIGINT stop the supervisor cleanly (main thread only)."""

    def handler(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping (pid %d)", signum, os.getpid())
        supervisor.stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
