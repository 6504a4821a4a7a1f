"""OpenCV's thread pool against one thread per process: detector CPU per frame.

``python -m benchmarks.cv_threads [--quick] [--repeat N] --out DIR`` writes
``DIR/cv_threads.json``: on the throughput part's 1080p scene, decoded once, the detector's
process CPU time per frame (best of N passes, each pass alternating the two settings so
that both see the same machine load) with ``cv2.setNumThreads(1)`` and with OpenCV's
default pool, and their ratio. ``pipelines.runtime.configure_process`` picks the setting
that every fallwatch process uses.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import cv2

from benchmarks.common import (
    camera_of,
    decode_all,
    make_scene,
    part_arguments,
    setup_logging,
    write_part,
)
from benchmarks.throughput import scenes, stage_times, warm_up

log = logging.getLogger(__name__)


def run(quick: bool, repeat: int) -> dict[str, Any]:
    video = make_scene(scenes(quick)["1080p"])
    warm_up(video)
    dec = decode_all(video)
    n = len(dec.frames)
    default = cv2.getNumThreads()
    best: dict[str, float] = {}
    try:
        for _ in range(repeat):
            for name, threads in (("one_thread", 1), ("opencv_default", -1)):
                cv2.setNumThreads(threads)
                c0 = time.process_time()
                st = stage_times(dec.frames, dec.info.fps, camera_of(video))
                ms = 1e3 * (time.process_time() - c0) / n
                log.info("%s: %.2f ms/frame (detector %.2f)", name, ms, 1e3 * st["detector"] / n)
                best[name] = min(best.get(name, ms), ms)
    finally:
        cv2.setNumThreads(default)
    return {
        "video": video.name, "frames": n, "repeat": repeat,
        "opencv_default_threads": default,
        "detector_cpu_ms_per_frame": best,
        "one_thread_vs_default": best["one_thread"] / best["opencv_default"],
    }


def main() -> None:
    setup_logging()
    p = part_arguments(__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="passes per setting (default 3)")
    args = p.parse_args()
    res = run(args.quick, args.repeat)
    write_part(args.out, "cv_threads", res)
    print(res)


if __name__ == "__main__":
    main()
