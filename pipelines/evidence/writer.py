"""``EvidenceWriter``: one folder per event, written off the detection thread.

See the package docstring (``pipelines.evidence``) for the API and the folder's content.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import av.error
import av.stream
import numpy as np
from av.video.codeccontext import VideoCodecContext

from detector.calibration import FacadeCalibration
from detector.events import Event
from pipelines.evidence.annotate import EventView, ViewRenderer, render_views
from pipelines.evidence.files import (
    MANIFEST,
    PARTIAL_SUFFIX,
    dumps,
    folder_time,
    format_utc,
    fsync_dir,
    fsync_path,
    sha256_file,
    write_bytes_atomic,
)
from pipelines.evidence.keys import load_or_create_key
from pipelines.evidence.manifest import FORMAT, manifest_bytes, sign
from pipelines.evidence.original import (
    ClipCollector,
    EvidenceError,
    PacketRing,
    StoredPacket,
    clip_suffix,
    write_original_clip,
)

log = logging.getLogger(__name__)

__all__ = ["EvidenceResult", "EvidenceWriter", "calibration_json", "software_version"]

PREROLL_S = 5.0
POSTROLL_S = 3.0


def software_version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("fallwatch")
    except PackageNotFoundError:
        return "unknown"


def calibration_json(cal: FacadeCalibration | None) -> dict[str, Any] | None:
    """The facade calibration as the camera file states it (None without one)."""
    if cal is None:
        return None
    return {
        "image_points": np.asarray(cal.image_points).tolist(),
        "facade_points": np.asarray(cal.facade_points).tolist(),
        "floor_height_m": float(cal.floor_height_m),
        "first_floor": int(cal.first_floor),
    }


@dataclass(frozen=True)
class EvidenceResult:
    """One event's evidence, finished (``ok``) or given up (``error`` says why).

    ``folder``/``clip`` are the final paths (None on failure); ``span_s`` the first and
    last presentation time (``Frame.t_s`` clock) of the original clip; ``last_seen_s`` the
    event's last sighting; ``ready_at``/``done_at`` ``time.monotonic()`` when the clip's last
    packet arrived and when the folder was renamed into place.
    """

    event_id: str
    folder: Path | None
    clip: Path | None
    span_s: tuple[float, float] | None
    last_seen_s: float
    ready_at: float
    done_at: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Job:
    name: str
    clip_name: str
    event: Event
    doc: dict[str, Any]
    packets: list[StoredPacket]  # grows (main thread appends) until ``complete`` is set
    offset_s: float
    ready_at: float
    complete: threading.Event = field(default_factory=threading.Event)


class EvidenceWriter:
    """Evidence folders for the events of one video source (see ``pipelines.evidence``)."""

    def __init__(
        self,
        out_dir: Path,
        camera_id: str,
        template: av.stream.Stream,
        *,
        fps: float,
        container_format: str,
        start_utc: datetime,
        utc_source: str,
        utc_of: Callable[[float], datetime] | None = None,
        calibration: FacadeCalibration | None = None,
        preroll_s: float = PREROLL_S,
        postroll_s: float = POSTROLL_S,
        keep_s: float | None = None,
        model_name: str | None = None,
        model_sha256: str | None = None,
        source_name: str | None = None,
        annotate: bool = True,
        home: Path | None = None,
        on_complete: Callable[[EvidenceResult], None] | None = None,
    ) -> None:
        if preroll_s < 0 or postroll_s < 0:
            raise ValueError(f"pre-roll and post-roll must be >= 0 s, got {preroll_s}, "
                             f"{postroll_s}")
        self.out_dir = Path(out_dir)
        self.camera_id = camera_id
        self.template = template
        self.fps = float(fps)
        self.container_format = container_format
        self.codec_name = template.codec_context.name
        self.suffix = clip_suffix(container_format, self.codec_name)
        self.start_utc = start_utc.astimezone(UTC)
        self.utc_source = utc_source
        self.utc_of = utc_of or (lambda t: self.start_utc + timedelta(seconds=t))
        self.calibration = calibration
        self.preroll_s, self.postroll_s = float(preroll_s), float(postroll_s)
        self.model = {"name": model_name, "sha256": model_sha256}
        self.source_name = source_name
        self.annotate = annotate
        self.on_complete = on_complete
        self.key = load_or_create_key(home)  # fails here, before any frame, if unusable
        time_base = template.time_base or Fraction(1, 90_000)
        self.ring = PacketRing(keep_s or self.preroll_s + 20.0, time_base, self.fps)
        self._collector = ClipCollector(self.ring)
        self._jobs: dict[str, _Job] = {}  # clip key -> job waiting for its packets
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._results: queue.Queue[EvidenceResult] = queue.Queue()
        self._outstanding = 0  # events added whose result is not posted yet
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name=f"evidence-{camera_id}",
                                        daemon=True)
        self._thread.start()
        if self.out_dir.is_dir():
            left = sorted(p.name for p in self.out_dir.iterdir()
                          if p.is_dir() and p.name.endswith(PARTIAL_SUFFIX))
            if left:  # a crash's leftovers (or another writer's folders in progress)
                log.warning("%s: %d unfinished evidence folders (interrupted writes, not "
                            "evidence): %s", self.out_dir, len(left), ", ".join(left[:5]))
        self._closed = False

    # -- the detection thread --------------------------------------------------------------

    def on_packet(self, packet: av.Packet) -> None:
        """Every demuxed packet of the video stream, in demux order (cheap: a bytes copy)."""
        self._collector.push(packet)
        self._dispatch()

    def align(self, frame_pts: int | None, frame_t_s: float) -> None:
        """Each decoded frame's ``pts`` and ``t_s`` (only the first one counts)."""
        self.ring.align(frame_pts, frame_t_s)

    def folder_name(self, event: Event) -> str:
        """``{camera}_{UTC of first sighting}_{8 hex}``: sorts in time order per camera."""
        short = hashlib.sha1(f"{self.camera_id}/{event.id}".encode()).hexdigest()[:8]
        return f"{self.camera_id}_{folder_time(self.utc_of(event.start_s))}_{short}"

    def add_event(self, event: Event, doc: dict[str, Any] | None = None) -> Path:
        """Start the evidence of ``event``; returns the path its original clip will have.

        ``doc`` is the event's public JSON (``Event.to_json()`` plus whatever the caller
        adds); it is copied now, gets ``clip`` set to the returned path, and is written as
        ``event.json``. The folder appears, complete, once the post-roll has passed (packets
        decoded after ``event.end_s + postroll_s`` have arrived, or ``close()``).
        """
        if self._closed:
            raise RuntimeError("EvidenceWriter is closed")
        name = self.folder_name(event)
        clip = self.out_dir / name / f"original{self.suffix}"
        body = copy.deepcopy(doc if doc is not None else event.to_json())
        body["clip"] = str(clip)
        key = f"{name}/{clip.name}"
        with self._lock:
            self._outstanding += 1
        job = _Job(name, clip.name, event, body, [], self.ring.offset_s or 0.0, 0.0)
        self._jobs[key] = job
        self._collector.start(key, event.start_s - self.preroll_s,
                              event.end_s + self.postroll_s)
        # The worker starts now on the packets already held (pre-roll and the fall) and
        # follows the list as the post-roll arrives: the annotated clip is mostly encoded
        # by the time the clip is complete.
        job.packets = self._collector.packets_of(key) or []
        self._queue.put(job)
        self._dispatch()
        return clip

    def _dispatch(self, items: Any = None) -> None:
        for key, packets in items if items is not None else self._collector.ready():
            job = self._jobs.pop(key)
            job.packets, job.ready_at = packets, time.monotonic()
            job.complete.set()  # after the final list is in place (the worker reads it then)

    def poll(self) -> list[EvidenceResult]:
        """Folders finished (or given up) since the last call; never blocks."""
        out = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    @property
    def pending(self) -> int:
        """Events added whose folder is not finished (or given up) yet."""
        with self._lock:
            return self._outstanding

    def close(self, timeout: float | None = None) -> list[EvidenceResult]:
        """End of the source: write every started event with the packets it has, wait for
        the worker (at most ``timeout`` s), and return the results not yet polled."""
        if not self._closed:
            self._closed = True
            self._dispatch(self._collector.flush())
            self._queue.put(None)
        self._thread.join(timeout)
        return self.poll()

    # -- the worker thread -----------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                result = self._write(job)
            except Exception as exc:  # the worker must survive any one event's failure
                log.exception("event %s: evidence failed", job.event.id)
                result = self._failed(job, f"{type(exc).__name__}: {exc}")
            self._results.put(result)
            if self.on_complete is not None:
                try:
                    self.on_complete(result)
                except Exception:
                    log.exception("on_complete callback failed for event %s", job.event.id)
            with self._lock:
                self._outstanding -= 1

    def _failed(self, job: _Job, why: str) -> EvidenceResult:
        return EvidenceResult(job.event.id, None, None, None, job.event.end_s, job.ready_at,
                              time.monotonic(), why)

    def _view(self, job: _Job, first_t_s: float) -> EventView:
        ev = job.event
        return EventView(
            camera_id=self.camera_id, trajectory=ev.trajectory,
            origin=(ev.origin.t_s, ev.origin.x_px, ev.origin.y_px), floor=ev.origin.floor,
            utc_of=self.utc_of, first_t_s=first_t_s, fps=self.fps,
            calibration=self.calibration, event_id=ev.id)

    def _follow(self, job: _Job, partial: Path) -> tuple[int, str | None]:
        """Decode the job's packets as they come (until the clip is complete) into the
        annotated clip and the snapshot. Returns (frames, None) or (0, why it failed)."""
        cc = cast(VideoCodecContext, self.template.codec_context)
        tb = self.ring.time_base
        renderer: ViewRenderer | None = None
        try:
            dec = cast(VideoCodecContext, av.CodecContext.create(cc.name, "r"))
            if cc.extradata:
                dec.extradata = cc.extradata
            dec.width, dec.height = cc.width, cc.height
            dec.thread_type = "AUTO"
            renderer = ViewRenderer(partial / "annotated.mp4", partial / "snapshot.jpg",
                                    self._view(job, 0.0), cc.width, cc.height)
            done_n, t_first, count = 0, None, 0

            def show(frames: list[av.VideoFrame]) -> None:
                nonlocal count
                for vf in frames:
                    assert renderer is not None and t_first is not None
                    t = (float(vf.pts * tb) - job.offset_s if vf.pts is not None
                         else t_first + count / self.fps)
                    renderer.add(vf, t)
                    count += 1

            while True:
                finished = job.complete.is_set()
                packets = job.packets
                upto = len(packets)  # the list may grow meanwhile: take a fixed slice
                for p in packets[done_n:upto]:
                    if t_first is None:
                        t_first = p.t_s - job.offset_s
                    pkt = av.Packet(p.data)
                    pkt.pts, pkt.dts, pkt.time_base = p.pts, p.dts, tb
                    show(dec.decode(pkt))
                done_n = upto
                if finished:
                    break
                job.complete.wait(0.05)
            if t_first is not None:
                show(dec.decode(None))
            return renderer.finish(), None
        except (EvidenceError, av.error.FFmpegError, ValueError, TypeError) as exc:
            if renderer is not None:
                renderer.abort()
            for name in ("annotated.mp4", "snapshot.jpg"):
                (partial / name).unlink(missing_ok=True)
            job.complete.wait()
            return 0, str(exc)

    def _write(self, job: _Job) -> EvidenceResult:
        final = self.out_dir / job.name
        partial = self.out_dir / f".{job.name}{PARTIAL_SUFFIX}"
        ev = job.event
        try:
            if partial.exists():
                shutil.rmtree(partial)
            partial.mkdir(parents=True)
            views_error: str | None = None
            frames = 0
            if self.annotate:
                frames, views_error = self._follow(job, partial)
            else:
                job.complete.wait()
            if not job.packets:
                shutil.rmtree(partial, ignore_errors=True)
                return self._failed(job, f"{final}: no packets for the clip (expected at "
                                         "least one keyframe before the event)")
            shown = sorted(p.t_s - job.offset_s for p in job.packets)
            span = (round(shown[0], 3), round(shown[-1], 3))
            original = partial / job.clip_name
            meta = {"creation_time": format_utc(self.utc_of(shown[0])),
                    "comment": f"fallwatch original clip of event {ev.id} ({self.camera_id})"}
            write_original_clip(job.packets, self.template, original, metadata=meta,
                                fps=self.fps)
            roles = {job.clip_name: "original"}
            if self.annotate and views_error is not None:
                # Decoding the packets in memory failed: decode the written clip instead.
                log.warning("event %s: annotating from the packets failed (%s); decoding "
                            "%s instead", ev.id, views_error, original.name)
                try:
                    frames = render_views(original, partial / "annotated.mp4",
                                          partial / "snapshot.jpg", self._view(job, shown[0]))
                    views_error = None
                except EvidenceError as exc:  # the original clip is what matters most
                    views_error = str(exc)
                    log.error("event %s: %s", ev.id, exc)
                    for name in ("annotated.mp4", "snapshot.jpg"):
                        (partial / name).unlink(missing_ok=True)
            if self.annotate and views_error is None and frames:
                roles.update({"annotated.mp4": "annotated", "snapshot.jpg": "snapshot"})
            doc = dict(job.doc)
            doc["clip_span_s"] = list(span)
            write_bytes_atomic(partial / "event.json", (dumps(doc) + "\n").encode())
            roles["event.json"] = "event"
            body = self._manifest(job, span, roles, views_error)
            write_bytes_atomic(partial / MANIFEST, manifest_bytes(sign(body, self.key)))
            for name in roles:
                fsync_path(partial / name)
            fsync_dir(partial)
            if final.exists():  # a rerun over the same video: replace the old folder whole
                old = self.out_dir / f".{job.name}.old{os.getpid()}"
                final.rename(old)
                partial.rename(final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                partial.rename(final)
            fsync_dir(self.out_dir)
        except (EvidenceError, OSError, av.error.FFmpegError, ValueError) as exc:
            shutil.rmtree(partial, ignore_errors=True)
            log.error("event %s: no evidence written: %s", ev.id, exc)
            return self._failed(job, str(exc))
        log.info("event %s: evidence in %s", ev.id, final)
        return EvidenceResult(ev.id, final, final / job.clip_name, span, ev.end_s,
                              job.ready_at, time.monotonic())

    def _manifest(self, job: _Job, span: tuple[float, float], roles: dict[str, str],
                  views_error: str | None) -> dict[str, Any]:
        ev, off = job.event, job.offset_s
        partial = self.out_dir / f".{job.name}{PARTIAL_SUFFIX}"
        event = ev.to_json()
        event["id"] = job.doc.get("id", ev.id)
        event.update({
            "start_utc": format_utc(self.utc_of(ev.start_s)),
            "end_utc": format_utc(self.utc_of(ev.end_s)),
            "origin_utc": format_utc(self.utc_of(ev.origin.t_s)),
            "stream_start_s": round(ev.start_s + off, 6),
            "stream_end_s": round(ev.end_s + off, 6),
            "utc_source": self.utc_source,
        })
        w = getattr(self.template, "width", None)
        h = getattr(self.template, "height", None)
        return {
            "format": FORMAT,
            "created_utc": format_utc(datetime.now(UTC)),
            "event": event,
            "camera": {"id": self.camera_id, "calibration": calibration_json(self.calibration)},
            "source": {"name": self.source_name, "container": self.container_format,
                       "codec": self.codec_name, "width": w, "height": h,
                       "fps": round(self.fps, 6)},
            "clip": {"span_s": list(span),
                     "span_utc": [format_utc(self.utc_of(t)) for t in span],
                     "stream_span_s": [round(t + off, 6) for t in span],
                     "preroll_s": self.preroll_s, "postroll_s": self.postroll_s,
                     # what the clip holds before the first / after the last sighting
                     # (less than asked where the recording starts or ends sooner)
                     "before_first_sighting_s": round(ev.start_s - span[0], 3),
                     "after_last_sighting_s": round(span[1] - ev.end_s, 3),
                     "views_error": views_error},
            "software": {"name": "fallwatch", "version": software_version()},
            "model": dict(self.model),
            "files": {name: {"role": role, "sha256": sha256_file(partial / name),
                             "bytes": (partial / name).stat().st_size}
                      for name, role in sorted(roles.items())},
        }
