"""``fallwatch analyze VIDEO``: find falling objects in a video file, write events as JSON.

``fallwatch analyze VIDEO [--camera CAMERA.yaml] [--events-json OUT.json]
[--clips-dir DIR | --no-clips] [--start-time ISO8601]``

The JSON (public contract, see DESIGN.md) goes to OUT.json, written atomically, or to
standard output (and nothing else goes there: logs and the progress bar use standard
error). Exit status: 0 done; 2 bad usage or unreadable input (nothing analysed, no JSON);
3 the video broke midway (the events found are written with ``"complete": false``);
1 OUT.json could not be written after the analysis (the JSON goes to standard output).

With ``--clips-dir DIR`` each event gets a folder
``DIR/{camera}_{UTC start YYYYMMDDTHHMMSS.mmmZ}_{short id}/`` holding ``original.mp4``
(the source's packets from the keyframe at or before first sighting - ``--preroll`` (5 s)
to last sighting + ``--postroll`` (3 s), remuxed without re-encoding; ``.mkv``/``.mov``/
``.ts`` where MP4 would alter them), ``annotated.mp4``, ``snapshot.jpg``, ``event.json``
and a signed ``manifest.json`` (see ``pipelines.evidence``).

``analyze_file`` is the library entry point, shared with ``fallwatch eval``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import av.container
import av.stream
from tqdm import tqdm

from detector.classifier import TrackClassifier, load_classifier
from detector.errors import FallwatchError
from detector.events import Event
from detector.pipeline import Detector
from pipelines.camera import CameraFile, load_camera
from pipelines.errors import CameraFileError, SourceError
from pipelines.evidence import POSTROLL_S, PREROLL_S, EvidenceWriter
from pipelines.evidence.files import dumps, format_utc
from pipelines.evidence.writer import software_version
from pipelines.sources import VideoInfo, open_video

log = logging.getLogger(__name__)

__all__ = [
    "AnalysisResult",
    "analyze_file",
    "dumps",
    "format_utc",
    "parse_start_time",
    "write_json_atomic",
]

EXIT_OK, EXIT_USAGE, EXIT_INCOMPLETE = 0, 2, 3


@dataclass
class AnalysisResult:
    """What one analysis produced.

    ``doc`` is the public JSON document; ``complete`` is False when the video broke
    midway; ``frames`` the frames decoded and analysed; ``wall_s``/``cpu_s`` the wall
    and process CPU time of decoding + detection (clip writing included when enabled);
    ``duration_s`` the analysed span of video (last frame time + one frame interval).
    """

    doc: dict[str, Any]
    complete: bool
    frames: int
    wall_s: float
    cpu_s: float
    duration_s: float

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.complete else EXIT_INCOMPLETE


def parse_start_time(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime (a time without offset is taken as UTC).

    Raises ``ValueError`` saying what was expected.
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--start-time {text!r} is not an ISO 8601 time "
            "(expected e.g. 2026-07-10T15:54:49Z or 2026-07-10T17:54:49+02:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def write_json_atomic(path: Path, doc: Any) -> None:
    """Write ``doc`` as JSON to ``path`` via a temporary name in the same folder + rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(dumps(doc) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _start_time(
    path: Path, info: VideoInfo, given: datetime | None
) -> tuple[datetime, str]:
    if given is not None:
        return given, "--start-time"
    if info.creation_time is not None:
        return info.creation_time, "creation_time"
    return datetime.fromtimestamp(path.stat().st_mtime, UTC), "file mtime"


def _open_template(video: Path) -> tuple[av.container.InputContainer, av.stream.Stream]:
    """A second handle on the file: its video stream gives the evidence muxer the codec
    parameters (read on the evidence worker thread while the first handle decodes)."""
    container = av.open(str(video))
    stream = container.streams.best("video")
    if stream is None:  # open_video found one; the same file must have it
        container.close()
        raise SourceError(f"{video}: has no video stream (expected one)")
    return container, stream


def analyze_file(
    video: str | os.PathLike[str],
    camera: CameraFile | None = None,
    *,
    clips_dir: Path | None = None,
    start_time: datetime | None = None,
    progress: bool = False,
    preroll_s: float = PREROLL_S,
    postroll_s: float = POSTROLL_S,
    on_frame: Callable[[int], None] | None = None,
    classifier: TrackClassifier | None = None,
) -> AnalysisResult:
    """Run the detector over a video file and build the public JSON document.

    Raises ``SourceError`` when the video cannot be read at all. Damage midway does not
    raise: the result has ``complete`` False and the doc a ``damage`` record. ``camera``
    gives id, calibration, exclusions and detector settings (defaults and the file name
    as id without it). ``clips_dir`` enables evidence folders (``pipelines.evidence``:
    original clip from ``preroll_s`` before the first sighting to ``postroll_s`` after the
    last, annotated clip, snapshot, signed manifest), written by a worker thread.
    """
    path = Path(video)
    camera_id = camera.id if camera is not None else path.stem
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with open_video(path) as source:
        info = source.info
        start_utc, start_source = _start_time(path, info, start_time)
        cfg = camera.detector if camera is not None else None
        detector = Detector(
            info.width,
            info.height,
            info.fps,
            cfg,
            camera.calibration() if camera is not None else None,
            camera.exclude if camera is not None else (),
            classifier,
        )
        evidence: EvidenceWriter | None = None
        template: av.container.InputContainer | None = None
        if clips_dir is not None:
            # The ring reaches back from the moment an event is reported (after its last
            # sighting) to its first sighting - pre-roll.
            keep_s = preroll_s + detector.cfg.event_span_s() + 3.0
            template, stream = _open_template(path)
            classifier = detector.classifier
            try:
                evidence = EvidenceWriter(
                    clips_dir, camera_id, stream, fps=info.fps,
                    container_format=info.format_name, start_utc=start_utc,
                    utc_source=start_source,
                    calibration=camera.calibration() if camera is not None else None,
                    preroll_s=preroll_s, postroll_s=postroll_s, keep_s=keep_s,
                    model_name=getattr(classifier, "name", None),
                    model_sha256=getattr(classifier, "sha256", None),
                    source_name=path.name,
                )
            except BaseException:
                template.close()
                raise
        pending: dict[str, dict[str, Any]] = {}  # event id -> its JSON, awaiting evidence
        docs: list[dict[str, Any]] = []

        def take(events: list[Event]) -> None:
            for ev in events:
                doc = ev.to_json()
                doc["clip"] = None
                doc["start_utc"] = format_utc(start_utc + timedelta(seconds=ev.start_s))
                doc["end_utc"] = format_utc(start_utc + timedelta(seconds=ev.end_s))
                doc["camera"] = camera_id
                if ev.classifier_score is not None:
                    doc["classifier_score"] = round(float(ev.classifier_score), 4)
                    doc["physics_score"] = round(float(ev.physics_score), 4)
                    doc["classifier_threshold"] = round(detector.classifier_threshold, 6)
                if ev.faint_points:
                    doc["faint_points"] = ev.faint_points
                if evidence is not None:
                    doc["clip"] = str(evidence.add_event(ev, doc))
                    pending[ev.id] = doc
                docs.append(doc)
                log.info("event %s at %.2f-%.2f s (score %.2f)", ev.id, ev.start_s, ev.end_s,
                         ev.score)

        frames = 0
        last_t = -1.0 / info.fps
        bar = tqdm(total=info.frames or None, unit="frame", file=sys.stderr,
                   disable=not progress, desc=path.name, leave=False)
        try:
            on_packet = evidence.on_packet if evidence is not None else None
            for frame in source.frames(on_packet=on_packet):
                if evidence is not None:
                    evidence.align(frame.pts, frame.t_s)
                take(detector.process(frame.luma, frame.t_s))
                frames += 1
                last_t = frame.t_s
                bar.update(1)
                if on_frame is not None:
                    on_frame(frames)
            take(detector.finish())
        finally:
            bar.close()
            if evidence is not None:
                for res in evidence.close():  # waits for the folders being written
                    doc_ = pending.pop(res.event_id, None)
                    if doc_ is None:
                        continue
                    if res.ok and res.span_s is not None:
                        doc_["clip_span_s"] = list(res.span_s)
                    else:  # keep analysing; the event keeps clip null
                        log.error("event %s: no evidence: %s", res.event_id, res.error)
                        doc_["clip"] = None
            if template is not None:
                template.close()
        damage = source.damage
    wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
    docs.sort(key=lambda d: (d["start_s"], d["id"]))
    doc: dict[str, Any] = {
        "source": str(video),
        "fps": info.fps,
        "frames": frames,
        "width": info.width,
        "height": info.height,
        "complete": damage is None,
        "events": docs,
        "camera": camera_id,
        "start_time_utc": format_utc(start_utc),
        "start_time_source": start_source,
        "duration_s": round(last_t + 1.0 / info.fps, 3) if frames else 0.0,
        "version": software_version(),
    }
    if damage is not None:
        doc["damage"] = {
            "message": damage.message,
            "first_bad_t_s": damage.first_bad_t_s,
            "frames_ok": damage.frames_ok,
            "frames_after": damage.frames_after,
            "frames_dropped": damage.frames_dropped,
            "reasons": list(damage.reasons),
        }
    return AnalysisResult(
        doc=doc,
        complete=damage is None,
        frames=frames,
        wall_s=wall_s,
        cpu_s=cpu_s,
        duration_s=float(doc["duration_s"]),
    )


# -- command line ------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("video", type=Path, metavar="VIDEO", help="video file to analyse")
    p.add_argument("--camera", type=Path, metavar="CAMERA.yaml",
                   help="camera file: id, facade calibration (floor numbers), exclusions, "
                   "detector settings")
    p.add_argument("--events-json", type=Path, metavar="OUT.json",
                   help="write the JSON here (atomically) instead of to standard output")
    clips = p.add_mutually_exclusive_group()
    clips.add_argument("--clips-dir", type=Path, metavar="DIR",
                       help="write one evidence folder per event in DIR (original clip, "
                       "event.json)")
    clips.add_argument("--no-clips", action="store_true", help="write no evidence (default)")
    p.add_argument("--preroll", type=float, default=PREROLL_S, metavar="S",
                   help=f"evidence clips start this long before the first sighting, at the "
                   f"keyframe at or before it (default {PREROLL_S:g})")
    p.add_argument("--postroll", type=float, default=POSTROLL_S, metavar="S",
                   help=f"evidence clips end this long after the last sighting "
                   f"(default {POSTROLL_S:g})")
    p.add_argument("--start-time", metavar="ISO8601",
                   help="UTC time of the first frame (default: the container's creation_time, "
                   "else the file's modification time)")
    add_model_arguments(p)


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """``--model PATH`` / ``--no-classifier`` (analyze and eval)."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--model", type=Path, metavar="PATH",
                   help="track classifier weights (default: the shipped models/DEFAULT)")
    g.add_argument("--no-classifier", action="store_true",
                   help="physics only: no learned classifier")


def classifier_from_args(args: argparse.Namespace) -> TrackClassifier | None:
    """The classifier ``--model``/``--no-classifier`` ask for; raises ``ModelError``."""
    if args.no_classifier:
        return None
    if args.model is not None:
        return load_classifier(args.model)
    from models import default_model_path

    return load_classifier(default_model_path())


def _fail(message: str) -> int:
    print(f"fallwatch analyze: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    start_time: datetime | None = None
    if args.start_time is not None:
        try:
            start_time = parse_start_time(args.start_time)
        except ValueError as exc:
            return _fail(str(exc))
    camera: CameraFile | None = None
    if args.camera is not None:
        try:
            camera = load_camera(args.camera)
        except CameraFileError as exc:
            return _fail(str(exc))
    out: Path | None = args.events_json
    if out is not None:
        if out.is_dir():
            return _fail(f"{out}: is a folder (expected the path of the JSON file to write)")
        if not out.parent.is_dir():
            return _fail(f"{out}: its folder {out.parent} does not exist (expected an existing "
                         "folder for the JSON file)")
        if not os.access(out.parent, os.W_OK):
            return _fail(f"{out}: its folder {out.parent} is not writable (expected a folder "
                         "the JSON file can be written into)")
    clips_dir: Path | None = None if args.no_clips else args.clips_dir
    if clips_dir is not None:
        try:
            clips_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return _fail(f"{clips_dir}: cannot create the clips folder ({exc.strerror or exc}); "
                         "expected a folder to write evidence into")
    try:
        classifier = classifier_from_args(args)
    except FallwatchError as exc:
        return _fail(str(exc))
    try:
        result = analyze_file(args.video, camera, clips_dir=clips_dir, start_time=start_time,
                              progress=sys.stderr.isatty(), preroll_s=args.preroll,
                              postroll_s=args.postroll, classifier=classifier)
    except SourceError as exc:
        return _fail(str(exc))
    except FallwatchError as exc:  # e.g. detector settings that do not fit this video
        return _fail(f"{args.video}: {exc}")
    doc = result.doc
    if out is not None:
        try:
            write_json_atomic(out, doc)
        except OSError as exc:  # the analysis is done: do not lose it
            print(f"fallwatch analyze: error: {out}: cannot write the JSON ({exc}); writing it "
                  "to standard output instead", file=sys.stderr)
            sys.stdout.write(dumps(doc) + "\n")
            return 1
    else:
        sys.stdout.write(dumps(doc) + "\n")
        sys.stdout.flush()
    n = len(doc["events"])
    if not result.complete:
        log.warning("%s: incomplete: %s", args.video, doc["damage"]["message"])
        print(f"fallwatch analyze: {args.video}: incomplete video, {n} events found in "
              f"{result.frames} intact frames (exit 3)", file=sys.stderr)
    else:
        log.info("%s: %d events in %d frames", args.video, n, result.frames)
    return result.exit_code
