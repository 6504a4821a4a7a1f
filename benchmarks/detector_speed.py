"""CPU cost of the Detector per frame, by stage (a script, not a test).

usage: python benchmarks/detector_speed.py [VIDEO] [--frames N] [--width 1920 --height 1080]

Without VIDEO it renders a noisy textured 1080p scene with a few moving dots (frames are
made before timing starts). Runs single-threaded OpenCV, prints median and mean ms per
frame for each stage and the whole ``process`` call.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from detector.pipeline import STAGES, Detector


def synthetic(n: int, w: int, h: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.normal(0, 1, (h // 16, w // 16)).astype(np.float32), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    bg = 120 + 15 * base
    out = []
    for i in range(n):
        img = bg + rng.normal(0, 2.0, (h, w)).astype(np.float32)
        for k in range(4):
            x = int(200 + 400 * k + 3 * i) % w
            y = int(100 + 40 * k + 0.5 * (i % 60) ** 2) % h
            cv2.circle(img, (x, y), 3, 60.0, -1)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def video(path: str, n: int) -> tuple[list[np.ndarray], float]:
    import av

    frames = []
    with av.open(path) as c:
        s = c.streams.video[0]
        fps = float(s.average_rate or 25)
        for fr in c.decode(s):
            p = fr.planes[0]
            frames.append(np.frombuffer(p, np.uint8).reshape(fr.height, p.line_size)[:, : fr.width]
                          .copy())
            if len(frames) >= n:
                break
    return frames, fps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video", nargs="?")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    a = ap.parse_args()
    cv2.setNumThreads(1)
    if a.video:
        frames, fps = video(a.video, a.frames)
    else:
        frames, fps = synthetic(a.frames, a.width, a.height), 25.0
    h, w = frames[0].shape
    det = Detector(w, h, fps)
    per_stage = {k: [] for k in STAGES}
    totals = []
    for i, f in enumerate(frames):
        before = dict(det.timings)
        t0 = time.process_time()
        det.process(f, i / fps)
        totals.append(time.process_time() - t0)
        for k in STAGES:
            per_stage[k].append(det.timings[k] - before[k])
    det.finish()
    skip = min(30, len(frames) // 4)  # warm-up
    print(f"{w}x{h} @ {fps:g} fps, {len(frames) - skip} frames timed, 1 OpenCV thread")
    for k in STAGES:
        v = np.array(per_stage[k][skip:]) * 1000
        print(f"  {k:11s} median {np.median(v):6.3f} ms   mean {v.mean():6.3f} ms")
    v = np.array(totals[skip:]) * 1000
    print(f"  {'process':11s} median {np.median(v):6.3f} ms   mean {v.mean():6.3f} ms (CPU time)")


if __name__ == "__main__":
    main()
