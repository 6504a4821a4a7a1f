"""Scaling: how the cost grows with resolution, with the number of moving things, with cameras.

``python -m benchmarks.scaling [--quick] --out DIR`` writes ``DIR/scaling.json``.

- ``resolution``: decode and detector CPU ms per frame on the throughput part's scenes
  (720p, 1080p, 4K; same seed), against megapixels.
- ``rain``: one scene with only its falling objects (``SceneRequest.clean``), rendered
  with more and more rain drops; ``flock``: the same scene with a flock of N birds
  (``pipelines.synth.scene.add_flock``). For each: decode and detector CPU ms per frame,
  blobs handed to the tracker per frame, background-guard trips and events.
- ``cameras``: ``fallwatch watch`` on this machine with 1..N RTSP cameras on loopback
  (``benchmarks.cameras``): cores used, CPU per frame, frames received and dropped.

The detector runs on frames decoded beforehand; decoding is timed apart.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from benchmarks.common import (
    RESOLUTIONS,
    SceneRequest,
    camera_of,
    decode_all,
    make_scene,
    part_arguments,
    setup_logging,
    write_part,
)
from benchmarks.throughput import scenes as throughput_scenes
from benchmarks.throughput import stage_times, warm_up
from pipelines.runtime import configure_process

log = logging.getLogger(__name__)

SEED = 8200


def point(video: Path) -> dict[str, Any]:
    """Decode and detector cost of one video, with what the detector saw."""
    dec = decode_all(video)
    n = len(dec.frames)
    st = stage_times(dec.frames, dec.info.fps, camera_of(video))
    return {
        "video": video.name,
        "width": dec.info.width, "height": dec.info.height, "frames": n,
        "megapixels": dec.info.width * dec.info.height / 1e6,
        "decode_ms_per_frame": 1e3 * dec.cpu_s / n,
        "detector_ms_per_frame": 1e3 * st["detector"] / n,
        "stages_ms_per_frame": {k: 1e3 * st[k] / n for k in ("background", "blobs", "tracker")},
        "blobs_per_frame": st["blobs_found"] / n,
        "guard_trips": int(st["guard_trips"]),
        "events": int(st["events"]),
    }


def cameras(quick: bool) -> dict[str, Any]:
    """``fallwatch watch`` with 1..N cameras, or why it was not measured."""
    if importlib.util.find_spec("pipelines.live") is None:
        return {"measured": False,
                "reason": "not yet measured: fallwatch watch (pipelines/live) has not landed"}
    from benchmarks.cameras import measure_cameras

    counts, seconds = ([1, 2], 8.0) if quick else ([1, 2, 3, 4], 20.0)
    return measure_cameras(counts, seconds, camera_scene())


def camera_scene() -> SceneRequest:
    """What every camera shows: a 720p scene with distractors only (6 s, looped)."""
    return SceneRequest(SEED, 1, "720p", 6.0, distractor_only=True)


def plan(quick: bool) -> tuple[str, float, list[int], list[int]]:
    """(base resolution, seconds, rain drop counts, flock sizes)."""
    if quick:
        return "720p", 2.0, [0, 1000, 3000], [0, 20, 60]
    return "1080p", 5.0, [0, 500, 2000, 6000], [0, 15, 40, 80]


def rain_request(quick: bool, drops: int) -> SceneRequest:
    base_res, dur, _, _ = plan(quick)
    return SceneRequest(SEED, 0, base_res, dur, rain_drops=drops, clean=True)


def flock_request(quick: bool, birds: int) -> SceneRequest:
    base_res, dur, _, _ = plan(quick)
    return SceneRequest(SEED, 0, base_res, dur, rain_drops=0, flock=birds, clean=True)


def scene_requests(quick: bool) -> list[SceneRequest]:
    """The rain and flock scenes (the resolution scenes are the throughput part's)."""
    _, _, drops, flocks = plan(quick)
    return ([rain_request(quick, n) for n in drops] + [flock_request(quick, n) for n in flocks]
            + [camera_scene()])


def run(quick: bool) -> dict[str, Any]:
    res_req = throughput_scenes(quick)
    base_res, dur, drops, flocks = plan(quick)
    warm_up(make_scene(res_req[RESOLUTIONS[0]]))
    out: dict[str, Any] = {"resolution": {}, "rain": [], "flock": [],
                           "base_scene": {"resolution": base_res, "duration_s": dur, "seed": SEED}}
    for res in RESOLUTIONS:
        out["resolution"][res] = point(make_scene(res_req[res]))
        log.info("resolution %s: %s", res, out["resolution"][res]["detector_ms_per_frame"])
    for n in drops:
        p = point(make_scene(rain_request(quick, n)))
        p["drops"] = n
        out["rain"].append(p)
        log.info("rain %d drops: detector %.1f ms/frame, %.1f blobs/frame", n,
                 p["detector_ms_per_frame"], p["blobs_per_frame"])
    for n in flocks:
        p = point(make_scene(flock_request(quick, n)))
        p["birds"] = n
        out["flock"].append(p)
        log.info("flock of %d: detector %.1f ms/frame, %.1f blobs/frame", n,
                 p["detector_ms_per_frame"], p["blobs_per_frame"])
    out["cameras"] = cameras(quick)
    return out


def main() -> None:
    setup_logging()
    configure_process()
    args = part_arguments(__doc__.splitlines()[0]).parse_args()
    path = write_part(args.out, "scaling", run(args.quick))
    log.info("wrote %s", path)


if __name__ == "__main__":
    main()
