"""Baselines side by side: the same labelled scenes, every method, one run.

``python -m benchmarks.baselines [--quick] --out DIR`` writes ``DIR/baselines.json``.

Each scene is decoded once (as ``analyze`` decodes it) into memory; every method then
runs on the same frames, timed in process CPU seconds, and its events are scored by
``pipelines.evaluate.score_scene`` (DESIGN.md's rule), so quality and speed compare like
with like. Speed is the detection alone (CPU ms per frame); decoding, the same for all,
is reported once.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from benchmarks.baselines.bytetrack import ByteTrackOurBlobs
from benchmarks.baselines.methods import FrigateStyle, Method, Mog2FullRes, Ours
from benchmarks.common import (
    SceneRequest,
    camera_of,
    cpu_time,
    decode_all,
    make_scene,
    part_arguments,
    setup_logging,
    truth_of,
    write_part,
)
from pipelines.evaluate import score_scene, summarize

log = logging.getLogger(__name__)

OBJECT_SEED, DISTRACTOR_SEED = 8300, 8301


def methods() -> list[Method]:
    """Ours first, then the baselines, in the order of the table."""
    return [Ours(), Mog2FullRes(), FrigateStyle(), ByteTrackOurBlobs()]


def scene_set(quick: bool) -> list[SceneRequest]:
    """The labelled scenes: object scenes (night 30%, rain 20%) and distractor-only scenes."""
    if quick:
        objs = [SceneRequest(OBJECT_SEED, i, "720p", 4.0, night_share=0.3, rain_share=0.2)
                for i in range(2)]
        dis = [SceneRequest(DISTRACTOR_SEED, 0, "720p", 6.0, distractor_only=True,
                            night_share=0.3, rain_share=0.2)]
    else:
        objs = [SceneRequest(OBJECT_SEED, i, ("720p", "1080p")[i % 2], 10.0, night_share=0.3,
                             rain_share=0.2) for i in range(8)]
        dis = [SceneRequest(DISTRACTOR_SEED, i, ("720p", "1080p")[i % 2], 15.0,
                            distractor_only=True, night_share=0.3, rain_share=0.2)
               for i in range(4)]
    return objs + dis


def run(quick: bool) -> dict[str, Any]:
    """Generate (or reuse) the scenes, run every method on each, score and time them."""
    ms = methods()
    rows: dict[str, list[dict[str, Any]]] = {m.name: [] for m in ms}
    decode_cpu = 0.0
    frames_total = 0
    scenes = []
    for k, req in enumerate(scene_set(quick)):
        video = make_scene(req)
        truth, camera = truth_of(video), camera_of(video)
        dec = decode_all(video)
        n = len(dec.frames)
        decode_cpu += dec.cpu_s
        frames_total += n
        scenes.append({"scene": video.stem, "frames": n, "width": dec.info.width,
                       "height": dec.info.height, "fps": dec.info.fps})
        if k == 0:  # warm-up, untimed: first calls import and allocate
            for m in ms:
                m.run(dec.frames[:10], dec.info.fps, camera)
        for m in ms:
            w0 = time.perf_counter()
            cpu, events = cpu_time(lambda m=m, dec=dec, camera=camera:  # type: ignore[misc]
                                   m.run(dec.frames, dec.info.fps, camera))
            row = score_scene(events, truth)
            row.update(scene=video.stem, frames=n, cpu_s=cpu, wall_s=time.perf_counter() - w0,
                       complete=True, width=dec.info.width, height=dec.info.height,
                       fps=dec.info.fps)
            rows[m.name].append(row)
            log.info("%s %s: %d events, %d/%d matched, %.1f ms/frame", video.stem, m.name,
                     row["events"], row["matched"], row["detectable"], 1e3 * cpu / max(n, 1))
        del dec
    out: dict[str, Any] = {"scenes": scenes, "frames": frames_total,
                           "decode_cpu_ms_per_frame": 1e3 * decode_cpu / max(frames_total, 1),
                           "methods": {}}
    ours_ms = None
    for m in ms:
        t = summarize(rows[m.name])
        ms_frame = 1e3 * t["cpu_s"] / max(t["frames"], 1)
        if ours_ms is None:
            ours_ms = ms_frame
        out["methods"][m.name] = {
            "settings": m.settings,
            "recall": t["recall"], "precision": t["precision"],
            "false_alarms": t["false_alarms"], "false_alarms_per_hour": t["false_alarms_per_hour"],
            "floor_exact_rate": t["floor_exact_rate"],
            "floor_within1_rate": t["floor_within1_rate"], "floor_n": t["floor_n"],
            "detectable": t["detectable"], "matched": t["matched"], "events": t["events"],
            "duration_s": t["duration_s"],
            "cpu_ms_per_frame": ms_frame,
            "cost_vs_ours": ms_frame / ours_ms if ours_ms else None,
            "per_scene": [{k: r[k] for k in ("scene", "detectable", "matched", "events",
                                             "false_alarms", "cpu_s", "frames")}
                          for r in rows[m.name]],
        }
    return out


def main() -> None:
    setup_logging()
    args = part_arguments(__doc__.splitlines()[0]).parse_args()
    path = write_part(args.out, "baselines", run(args.quick))
    log.info("wrote %s", path)


if __name__ == "__main__":
    main()
