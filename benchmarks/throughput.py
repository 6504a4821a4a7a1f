"""Throughput: decode-only, each detector stage and end to end, at 720p, 1080p and 4K.

``python -m benchmarks.throughput [--quick] --out DIR`` writes ``DIR/throughput.json``.

For each resolution one generated scene (H.264, 2 s GOP, no B-frames, the generator's
camera-like bit rate: about 2.5 / 4 / 12 Mbit/s) is measured in one run, round robin over
``repeat`` rounds (medians), all in process CPU time:

- ``decode``: ``VideoSource.frames()`` touching each luma plane (what ``analyze`` decodes);
- ``end_to_end``: ``pipelines.analyze.analyze_file`` (decode + detector + event JSON);
- the detector's stages on frames decoded beforehand, using the Detector's own stage
  boundaries (``Detector.timings``) with its clock switched to ``time.process_time``:
  ``background`` (shrink + background model), ``blobs``, ``tracker`` (Kalman tracker +
  fall physics), and ``classifier`` per candidate track when a learned classifier exists;
- memory per stream: RSS growth of a fresh process analysing the scene
  (``benchmarks.memory``).

Reported as CPU ms per frame, as ratios to decode-only, and as live streams per core
(``1000 / (fps * end-to-end ms per frame)``).
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import detector.pipeline as pipeline_mod
from benchmarks.baselines.methods import Frames, make_detector
from benchmarks.classifier_probe import TimedClassifier, load_classifier
from benchmarks.common import (
    RESOLUTIONS,
    ROOT,
    SceneRequest,
    camera_of,
    decode_all,
    decode_only,
    make_scene,
    part_arguments,
    setup_logging,
    write_part,
)
from detector.classifier import TrackClassifier
from pipelines.analyze import analyze_file
from pipelines.camera import CameraFile
from pipelines.runtime import configure_process

log = logging.getLogger(__name__)

SEED = 8100
STAGE_GROUPS = {"background": ("shrink", "background"), "blobs": ("blobs",),
                "tracker": ("tracking", "judge")}


@contextmanager
def cpu_stage_clock() -> Iterator[None]:
    """Make ``Detector.timings`` count process CPU seconds instead of wall seconds."""
    saved = pipeline_mod.time
    pipeline_mod.time = types.SimpleNamespace(perf_counter=time.process_time)  # type: ignore[assignment]
    try:
        yield
    finally:
        pipeline_mod.time = saved


class _BlobCounter:
    """Counts the blobs ``extract_blobs`` hands the tracker while active (a context)."""

    def __init__(self) -> None:
        self.found = 0
        self._saved = pipeline_mod.extract_blobs

    def __enter__(self) -> _BlobCounter:
        inner = self._saved

        def counting(*args: Any, **kwargs: Any) -> Any:
            out = inner(*args, **kwargs)
            self.found += len(out) if out is not None else 0
            return out

        pipeline_mod.extract_blobs = counting
        return self

    def __exit__(self, *exc: object) -> None:
        pipeline_mod.extract_blobs = self._saved


def stage_times(frames: Frames, fps: float, camera: CameraFile | None,
                classifier: TimedClassifier | None = None) -> dict[str, float]:
    """CPU seconds per stage group and for the whole detector over ``frames`` (the
    classifier's calls are inside ``tracker``; ``classifier`` reports them apart)."""
    h, w = frames[0][1].shape
    det = make_detector(w, h, fps, camera, classifier)
    counter = _BlobCounter()
    events = 0
    with cpu_stage_clock(), counter:
        c0 = time.process_time()
        for t_s, luma in frames:
            events += len(det.process(luma, t_s))
        events += len(det.finish())
        total = time.process_time() - c0
    out = {g: sum(det.timings[k] for k in keys) for g, keys in STAGE_GROUPS.items()}
    out["detector"] = total
    out["blobs_found"] = float(counter.found)
    out["guard_trips"] = float(det.guard_trips)
    out["events"] = float(events)
    if classifier is not None:
        out["tracker"] -= classifier.cpu_s
        out["classifier"] = classifier.cpu_s
    return out


def warm_up(video: Path) -> None:
    """One untimed pass over a few frames: first calls import modules and fill caches."""
    dec = decode_all(video)
    stage_times(dec.frames[:30], dec.info.fps, camera_of(video))
    analyze_file(video, camera_of(video))


def memory_probe(video: Path) -> dict[str, Any]:
    """Run ``benchmarks.memory`` on ``video`` in a fresh process; its JSON."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.memory", str(video)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    doc: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return doc


def scenes(quick: bool) -> dict[str, SceneRequest]:
    """One scene per resolution (the same seed and index: a similar facade and movers)."""
    if quick:
        return {res: SceneRequest(SEED, 0, res, 2.0) for res in RESOLUTIONS}
    durations = {"720p": 12.0, "1080p": 12.0, "4k": 6.0}  # 4K renders slowly
    return {res: SceneRequest(SEED, 0, res, durations[res]) for res in RESOLUTIONS}


def measure(video: Path, repeat: int, classifier: TrackClassifier | None) -> dict[str, Any]:
    """Every number of the part for one video."""
    camera = camera_of(video)
    dec = decode_all(video)
    fps, n = dec.info.fps, len(dec.frames)
    dec_ms: list[float] = []
    e2e_ms: list[float] = []
    stages: dict[str, list[float]] = {}
    events = 0
    calls = 0
    clf_cpu = 0.0
    for _ in range(repeat):  # round robin, so drift on a shared machine hits all alike
        cpu, frames = decode_only(video)
        dec_ms.append(1e3 * cpu / frames)
        res = analyze_file(video, camera)
        e2e_ms.append(1e3 * res.cpu_s / res.frames)
        events = len(res.doc["events"])
        timed = TimedClassifier(classifier) if classifier is not None else None
        got = stage_times(dec.frames, fps, camera, timed)
        for k in ("blobs_found", "guard_trips", "events"):
            got.pop(k)
        for k, v in got.items():
            stages.setdefault(k, []).append(1e3 * v / n)
        if timed is not None:
            calls += timed.calls
            clf_cpu += timed.cpu_s
    d = statistics.median(dec_ms)
    e = statistics.median(e2e_ms)
    st = {k: statistics.median(v) for k, v in stages.items()}
    size = video.stat().st_size
    return {
        "video": video.name,
        "width": dec.info.width, "height": dec.info.height, "fps": fps, "frames": n,
        "mbit_s": size * 8 / (n / fps) / 1e6,
        "events": events,
        "repeat": repeat,
        "cpu_ms_per_frame": {"decode": d, **st, "end_to_end": e},
        "ratio_to_decode": {"decode": 1.0, **{k: v / d for k, v in st.items()},
                            "end_to_end": e / d},
        "decode_share_of_end_to_end": d / e,
        "streams_per_core": {"decode_only": 1e3 / (fps * d), "end_to_end": 1e3 / (fps * e)},
        "samples_ms": {"decode": dec_ms, "end_to_end": e2e_ms},
        "classifier_ms_per_track": 1e3 * clf_cpu / calls if calls else None,
        "classifier_tracks": calls // max(repeat, 1),
    }


def run(quick: bool) -> dict[str, Any]:
    repeat = 1 if quick else 2
    classifier, how = load_classifier()
    out: dict[str, Any] = {"resolutions": {},
                           "classifier": {"available": classifier is not None, "source": how}}
    for k, (res, req) in enumerate(scenes(quick).items()):
        video = make_scene(req)
        if k == 0:
            warm_up(video)
        row = measure(video, repeat, classifier)
        row["memory"] = memory_probe(video)
        out["resolutions"][res] = row
        log.info("%s: decode %.1f ms, end to end %.1f ms per frame (x%.2f), %.1f streams/core",
                 res, row["cpu_ms_per_frame"]["decode"], row["cpu_ms_per_frame"]["end_to_end"],
                 row["ratio_to_decode"]["end_to_end"], row["streams_per_core"]["end_to_end"])
    return out


def main() -> None:
    setup_logging()
    configure_process()
    args = part_arguments(__doc__.splitlines()[0]).parse_args()
    path = write_part(args.out, "throughput", run(args.quick))
    log.info("wrote %s", path)


if __name__ == "__main__":
    main()
