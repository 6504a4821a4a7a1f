"""One camera's worker: reads its stream, runs the detector, writes evidence, reports.

The narrow interface (what a distributed engine would also run)::

    worker = CameraWorker(WorkerConfig(camera, settings, data_dir), emit=queue.put,
                          stop=stop_event)
    worker.run()          # until stop is set; never raises for stream trouble

``emit`` receives picklable messages: ``Health`` (every ``heartbeat_s``, and whenever the
state changes), ``EventFound`` (an event, the moment the detector confirms it; its evidence
is being written), ``EvidenceDone`` (its folder is complete, or failed) and ``LogRecord``s
(the worker's log, already redacted). ``worker_main`` is the process entry point the
supervisor spawns.

Reading: PyAV over TCP for ``rtsp://`` (``rtsp_transport=tcp``), with an open timeout and a
read timeout of ``stall_timeout_s``; no frame for ``stall_timeout_s`` is a stall too. Any
end of the stream (error, stall, EOF) closes it and reconnects after an exponential backoff
with seeded jitter, resetting once frames flow again.

Lag: the stream is sent in real time, so ``arrival - stream time`` is constant while we keep
up; its minimum over the connection is the baseline and the excess is the lag. Beyond
``max_lag_s / 2`` frames are decoded (the reference chain must go on) but not analysed;
beyond ``max_lag_s`` packets are skipped up to the next keyframe. Both count as dropped.
The packet ring keeps every packet either way, so evidence is whole.
"""

from __future__ import annotations

import hashlib
import logging
import logging.handlers
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container
import av.error
import av.logging
import av.video.stream
import numpy as np

from detector.errors import FallwatchError
from detector.events import Event
from detector.pipeline import Detector
from pipelines.camera import CameraFile
from pipelines.evidence import EvidenceResult, EvidenceWriter
from pipelines.live.site import LiveSettings
from pipelines.redact import RedactingFilter, redact_text, url_secrets
from pipelines.runtime import configure_process
from pipelines.store.retention import folder_bytes

log = logging.getLogger(__name__)

__all__ = [
    "CameraWorker",
    "EventFound",
    "EvidenceDone",
    "Health",
    "WorkerConfig",
    "worker_main",
]

EVIDENCE_DIR = "evidence"


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs: the camera (with its source URL), the live settings, the data
    folder (evidence goes to ``DATA/evidence/<camera>/``) and the log level."""

    camera: CameraFile
    settings: LiveSettings
    data_dir: Path
    log_level: int = logging.INFO


@dataclass(frozen=True)
class Health:
    """A heartbeat with the camera's state and counters (since this worker started).

    ``state``: connecting, streaming, disconnected, reconnecting, stopped. ``lag_s``: how far the
    analysis is behind the stream now; ``max_lag_s``: the most since the last report.
    ``received`` frames decoded or skipped; ``frames`` analysed; ``dropped`` not analysed.
    """

    camera: str
    pid: int
    state: str
    source: str
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    received: int = 0
    frames: int = 0
    dropped: int = 0
    reconnects: int = 0
    lag_s: float | None = None
    max_lag_s: float | None = None
    last_frame_utc: datetime | None = None
    error: str | None = None
    sent_utc: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class EventFound:
    """An event confirmed by the detector. ``doc`` is the alert/store document: ``id``,
    ``camera``, ``start_utc``/``end_utc`` (ISO 8601), ``stream_epoch_utc`` (UTC of stream
    time 0: the sender's clock from RTCP sender reports where it has sent one, else the
    arrival time; ``time_source`` says which; ``arrival_epoch_utc`` beside it), ``start_s``/
    ``end_s`` (stream seconds), ``score``, ``trajectory`` ``[[t_s, x_px, y_px], ...]``,
    ``origin``, ``floor``, ``evidence_dir`` (relative to the data folder), ``status``,
    ``confirmed_utc`` (when the detector confirmed it: alerts are measured from there)."""

    camera: str
    doc: dict[str, Any]


@dataclass(frozen=True)
class EvidenceDone:
    """The evidence folder of an event is complete (``ok``) or could not be written."""

    camera: str
    event_id: str
    evidence_dir: str
    bytes: int
    ok: bool
    error: str | None = None


class StreamEnded(FallwatchError):
    """The camera's stream broke, stalled or ended (the worker reconnects)."""


def _iso(t: datetime) -> str:
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _luma(vf: av.VideoFrame) -> np.ndarray:
    """The Y plane of a decoded frame as an (H, W) uint8 array (a view when possible)."""
    if vf.format.name not in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p",
                              "yuvj444p", "nv12", "gray"):
        vf = vf.reformat(format="gray")
    plane = vf.planes[0]
    if plane.line_size < vf.width:
        return vf.to_ndarray()[: vf.height, : vf.width]
    return np.ndarray((vf.height, vf.width), np.uint8, memoryview(plane),
                      strides=(plane.line_size, 1))


class _EvidencePackets:
    """Packets as the evidence clip needs them: one per picture, each with a timestamp.

    RTSP can deliver the first picture of a session without any timestamp (it gets the time
    one frame before the next packet, or is dropped when the next is a keyframe, or when
    that time would be negative), and can split one picture into several packets with the
    same decode time (seen with GStreamer's server at every keyframe of the 1080p sample):
    MP4 refuses both, so split pictures are joined again (Annex B data concatenates).
    ``push`` returns the packets that are ready, one behind the demuxer.
    """

    def __init__(self, time_base: Fraction, fps: float) -> None:
        self.frame_ts = max(1, round(1 / (fps * time_base)))
        self._held: av.Packet | None = None  # timestamp-less, waiting for the next packet
        self._last: av.Packet | None = None  # the latest picture, maybe not complete yet

    def push(self, packet: av.Packet) -> list[av.Packet]:
        if packet.pts is None and packet.dts is None:
            self._held = packet
            return []
        out: list[av.Packet] = []
        if self._held is not None:
            held, self._held = self._held, None
            ts = (packet.dts if packet.dts is not None else packet.pts) or 0
            if not packet.is_keyframe and ts - self.frame_ts >= 0:
                held.pts = held.dts = ts - self.frame_ts
                out.append(held)
        last = self._last
        if last is not None and last.dts == packet.dts and last.pts == packet.pts:
            joined = av.Packet(bytes(last) + bytes(packet))
            joined.pts, joined.dts = last.pts, last.dts
            joined.duration = last.duration or packet.duration
            joined.is_keyframe = bool(last.is_keyframe or packet.is_keyframe)
            joined.time_base = last.time_base
            self._last = joined
            return out
        if last is not None:
            out.append(last)
        self._last = packet
        return out


class CameraWorker:
    """Reads one camera until ``stop`` is set (see the module docstring)."""

    def __init__(self, config: WorkerConfig, emit: Callable[[Any], None],
                 stop: Any) -> None:
        self.cfg = config
        self.cam = config.camera
        self.s = config.settings
        self.emit = emit
        self.stop = stop  # anything with is_set() (threading or multiprocessing Event)
        self.source = self.cam.source or ""
        self.secrets = url_secrets(self.source)
        self.shown_source = redact_text(self.source, self.secrets)
        seed = int.from_bytes(hashlib.sha256(f"{self.s.seed}/{self.cam.id}".encode())
                              .digest()[:8], "big")
        self.rng = random.Random(seed)
        self.state = "connecting"
        self.received = self.frames = self.dropped = self.reconnects = 0
        self.fps: float | None = None
        self.size: tuple[int, int] | None = None
        self.lag_s: float | None = None
        self.max_lag_s = 0.0
        self.last_frame_utc: datetime | None = None
        self.error: str | None = None
        self._last_beat = 0.0
        self._session = 0
        self._retiring: list[threading.Thread] = []

    # -- reporting -------------------------------------------------------------------------
    def beat(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_beat < self.s.heartbeat_s:
            return
        self._last_beat = now
        w, h = self.size if self.size else (None, None)
        self.emit(Health(
            camera=self.cam.id, pid=os.getpid(), state=self.state, source=self.shown_source,
            fps=self.fps, width=w, height=h, received=self.received, frames=self.frames,
            dropped=self.dropped, reconnects=self.reconnects,
            lag_s=None if self.lag_s is None else round(self.lag_s, 3),
            max_lag_s=round(self.max_lag_s, 3), last_frame_utc=self.last_frame_utc,
            error=self.error))
        self.max_lag_s = self.lag_s or 0.0

    def _set_state(self, state: str, error: str | None = None) -> None:
        self.state = state
        if error is not None:
            self.error = redact_text(error, self.secrets)
        self.beat(force=True)

    # -- main loop -----------------------------------------------------------------------
    def run(self) -> None:
        attempt = 0
        try:
            while not self.stop.is_set():
                frames_before = self.received
                self._set_state("connecting")
                try:
                    self._stream()
                    why = "the stream ended"
                except StreamEnded as exc:
                    why = str(exc)
                if self.stop.is_set():
                    break
                if self.received > frames_before:
                    attempt = 0
                delay = min(self.s.backoff_initial_s * 2.0 ** attempt, self.s.backoff_max_s)
                delay *= 0.5 + self.rng.random()
                attempt += 1
                self.reconnects += 1
                log.warning("camera %s: %s; reconnecting in %.1f s (attempt %d)",
                            self.cam.id, redact_text(why, self.secrets), delay, attempt)
                self._set_state("reconnecting", why)
                self._sleep(delay)
        finally:
            self._wait_retiring()
            self._set_state("stopped")

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.2))
            self.beat()

    def _open(self) -> av.container.InputContainer:
        options = {}
        if self.source.startswith(("rtsp://", "rtsps://")):
            options = {"rtsp_transport": "tcp", "rtsp_flags": "prefer_tcp"}
        try:
            return av.open(self.source, mode="r", options=options,
                           timeout=(self.s.open_timeout_s, self.s.stall_timeout_s))
        except (av.error.FFmpegError, OSError) as exc:
            raise StreamEnded(f"cannot open {self.shown_source}: "
                              f"{redact_text(str(exc), self.secrets)}") from None

    def _stream(self) -> None:
        container = self._open()
        writer: list[EvidenceWriter] = []
        try:
            streams = container.streams.video
            if not streams:
                raise StreamEnded(f"{self.shown_source}: no video stream")
            self._read(container, streams[0], writer)
        finally:
            if self.state == "streaming":
                self._set_state("disconnected")
            if writer:
                self._retire(writer[0], container)
            else:
                container.close()

    def _retire(self, writer: EvidenceWriter, container: av.container.InputContainer) -> None:
        """Finish the connection's evidence on a thread, then close its container (the
        muxer's template), so that reconnecting never waits for evidence to be written."""

        def finish() -> None:
            try:
                writer.close()
            finally:
                container.close()

        thread = threading.Thread(target=finish, name=f"retire-{self.cam.id}", daemon=True)
        thread.start()
        self._retiring = [t for t in self._retiring if t.is_alive()] + [thread]

    def _wait_retiring(self, timeout_s: float = 120.0) -> None:
        """Wait (reporting meanwhile) for the evidence of earlier connections."""
        end = time.monotonic() + timeout_s
        for thread in self._retiring:
            while thread.is_alive() and time.monotonic() < end:
                thread.join(0.5)
                self.beat()

    def _read(self, container: av.container.InputContainer,
              stream: av.video.stream.VideoStream, out_writer: list[EvidenceWriter]) -> None:
        s = self.s
        stream.thread_type = "AUTO"
        if s.fast_decode:  # as ``fallwatch analyze`` decodes: about a fifth less CPU
            codec = stream.codec_context
            codec.options = {**codec.options, "skip_loop_filter": "all"}
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate and 0 < float(rate) < 1000 else 25.0
        tb = stream.time_base or Fraction(1, 90_000)
        self._session += 1
        clock = {"base": math.inf}  # min over packets of (monotonic arrival - stream seconds)
        mono_to_utc = time.time() - time.monotonic()

        first_ts: int | None = None
        sender: dict[str, float] = {}  # "t0": the sender's UTC of pts 0 (RTCP sender reports)

        def arrival_epoch() -> datetime:
            base = clock["base"] if math.isfinite(clock["base"]) else time.monotonic()
            return datetime.fromtimestamp(base + mono_to_utc, UTC)

        def epoch_utc() -> datetime:
            """UTC of stream time 0 (the first packet): the sender's clock once an RTCP
            sender report has arrived (FFmpeg's ``start_time_realtime``), else arrival."""
            if "t0" not in sender and first_ts is not None:
                realtime = getattr(container, "start_time_realtime", None)
                if realtime:
                    sender["t0"] = realtime / 1e6 + float(first_ts * tb)
                    skew = sender["t0"] - arrival_epoch().timestamp()
                    writer.utc_source = "sender"
                    log.log(logging.WARNING if abs(skew) > 10 else logging.INFO,
                            "camera %s: the sender's clock (RTCP) is %+.3f s from arrival "
                            "time; event times follow the sender", self.cam.id, skew)
            if "t0" in sender:
                return datetime.fromtimestamp(sender["t0"], UTC)
            return arrival_epoch()

        ids: dict[str, str] = {}  # detector event id (this connection) -> stored event id

        def done(result: EvidenceResult) -> None:  # on the writer's thread
            event_id = ids.get(result.event_id, result.event_id)
            if result.ok and result.folder is not None:
                rel = result.folder.relative_to(self.cfg.data_dir).as_posix()
                self.emit(EvidenceDone(self.cam.id, event_id, rel,
                                       folder_bytes(result.folder), True))
            else:
                self.emit(EvidenceDone(self.cam.id, event_id, "", 0, False,
                                       redact_text(result.error or "unknown", self.secrets)))

        writer = EvidenceWriter(
            self.cfg.data_dir / EVIDENCE_DIR / self.cam.id, self.cam.id, stream, fps=fps,
            container_format=container.format.name, start_utc=epoch_utc(),
            utc_source="arrival", utc_of=lambda t: epoch_utc() + timedelta(seconds=t),
            calibration=self.cam.calibration(), preroll_s=s.preroll_s,
            postroll_s=s.postroll_s, keep_s=s.preroll_s + self.cam.detector.event_span_s() + 3.0,
            source_name=self.shown_source,
            annotate=s.annotate_evidence, on_complete=done)
        out_writer.append(writer)
        detector: Detector | None = None
        units = _EvidencePackets(tb, fps)
        skip_to_key = False
        last_frame_mono = last_packet_mono = time.monotonic()
        self.fps = fps
        log.info("camera %s: connected to %s (%s, %s fps)", self.cam.id, self.shown_source,
                 stream.codec_context.name, f"{fps:g}")
        try:
            for packet in container.demux(stream):
                if self.stop.is_set():
                    return
                now = last_packet_mono = time.monotonic()
                if now - last_frame_mono > s.stall_timeout_s:
                    raise StreamEnded(f"no frame for {s.stall_timeout_s:g} s (stalled)")
                if packet.size == 0:  # the demuxer's end-of-stream flush packet
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is not None:
                    if first_ts is None:
                        first_ts = ts
                    pt = float((ts - first_ts) * tb)
                    clock["base"] = min(clock["base"], now - pt)
                    self.lag_s = max(0.0, now - pt - clock["base"])
                    self.max_lag_s = max(self.max_lag_s, self.lag_s)
                for unit in units.push(packet):
                    writer.on_packet(unit)
                lag = self.lag_s or 0.0
                if skip_to_key and packet.is_keyframe:
                    skip_to_key = False
                elif not skip_to_key and lag > s.max_lag_s and not packet.is_keyframe:
                    skip_to_key = True
                    log.info("camera %s: %.2f s behind; skipping to the next keyframe",
                             self.cam.id, lag)
                if skip_to_key:
                    self.received += 1
                    self.dropped += 1
                    last_frame_mono = now
                    self.beat()
                    continue
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError as exc:
                    log.info("camera %s: undecodable packet: %s", self.cam.id,
                             redact_text(str(exc), self.secrets))
                    continue
                for vf in decoded:
                    last_frame_mono = time.monotonic()
                    self.received += 1
                    if first_ts is None or vf.pts is None:
                        continue
                    t_s = float((vf.pts - first_ts) * tb)
                    writer.align(vf.pts, t_s)
                    if detector is None:
                        self.size = (vf.width, vf.height)
                        detector = Detector(vf.width, vf.height, fps, self.cam.detector,
                                            self.cam.calibration(), self.cam.exclude)
                        self._set_state("streaming")
                    self.last_frame_utc = datetime.now(UTC)
                    if (self.lag_s or 0.0) > s.max_lag_s / 2:
                        self.dropped += 1
                        continue
                    if s.slow_frame_s:
                        time.sleep(s.slow_frame_s)
                    self.frames += 1
                    for ev in detector.process(_luma(vf), t_s):
                        self._found(ev, epoch_utc(), arrival_epoch(), writer, ids)
                self.beat()
        except av.error.FFmpegError as exc:
            why = redact_text(str(exc), self.secrets)
            quiet_s = time.monotonic() - last_packet_mono
            if quiet_s >= 0.9 * s.stall_timeout_s:  # the read timeout fired
                why = f"no data for {quiet_s:.1f} s (stalled): {why}"
            raise StreamEnded(why) from None
        finally:
            if detector is not None:
                for ev in detector.finish():
                    self._found(ev, epoch_utc(), arrival_epoch(), writer, ids)

    def _found(self, ev: Event, epoch: datetime, arrival: datetime, writer: EvidenceWriter,
               ids: dict[str, str]) -> None:
        start = epoch + timedelta(seconds=ev.start_s)
        end = epoch + timedelta(seconds=ev.end_s)
        name = writer.folder_name(ev)  # camera_UTC_hash: unique across connections
        ids[ev.id] = name
        rel = f"{EVIDENCE_DIR}/{self.cam.id}/{name}"
        body = ev.to_json()
        doc: dict[str, Any] = {
            "id": name,
            "camera": self.cam.id,
            "start_utc": _iso(start),
            "end_utc": _iso(end),
            "stream_epoch_utc": _iso(epoch),
            "arrival_epoch_utc": _iso(arrival),
            "time_source": writer.utc_source,
            "start_s": body["start_s"],
            "end_s": body["end_s"],
            "score": body["score"],
            "trajectory": body["trajectory"],
            "origin": body["origin"],
            "floor": body["origin"]["floor"],
            "faint_points": ev.faint_points,
            "evidence_dir": rel,
            "status": "writing",
            "detector_event": ev.id,
            "connection": self._session,
            "confirmed_utc": _iso(datetime.now(UTC)),
        }
        log.info("camera %s: event %s (floor %s, score %.2f)", self.cam.id, name,
                 doc["floor"], ev.score)
        self.emit(EventFound(self.cam.id, doc))
        writer.add_event(ev, {k: v for k, v in doc.items() if k != "status"})


class _QueueLogHandler(logging.handlers.QueueHandler):
    """Sends the worker's log records (rendered and redacted) to the supervisor."""

    def enqueue(self, record: logging.LogRecord) -> None:
        self.queue.put_nowait(record)


class _Stop:
    """Stop when the supervisor says so, on this process's own SIGTERM, or when the
    supervisor has died (the worker was re-parented: nobody reads its reports)."""

    def __init__(self, parent: Any) -> None:
        self.parent = parent
        self.own = threading.Event()
        self.ppid = os.getppid()

    def is_set(self) -> bool:
        if os.getppid() != self.ppid:
            self.own.set()
        return self.own.is_set() or bool(self.parent.is_set())


def worker_main(config: WorkerConfig, out: Any, stop: Any) -> None:
    """Process entry point: log through ``out`` (redacted), run the camera until ``stop``.

    SIGINT is ignored (Ctrl-C reaches the whole process group; the supervisor decides);
    SIGTERM sent to the worker itself stops it cleanly."""
    configure_process()
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = _QueueLogHandler(out)
    handler.addFilter(RedactingFilter(url_secrets(config.camera.source)))
    root.addHandler(handler)
    root.setLevel(config.log_level)
    av.logging.set_level(None)  # FFmpeg's own messages would carry the source URL
    stopper = _Stop(stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _n, _f: stopper.own.set())
    try:
        CameraWorker(config, out.put, stopper).run()
    except Exception:  # logged through the redacting handler, not printed raw to stderr
        log.exception("camera %s: worker failed", config.camera.id)
        logging.shutdown()
        sys.exit(1)
