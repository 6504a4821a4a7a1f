"""``analyze``'s per-frame work against decode-only, on the same H.264 file, in one run.

usage: python benchmarks/analyze_throughput.py [VIDEO [CAMERA.yaml]] [--repeat N]

Default: the bundled 1080p sample (4 Mbit/s, 2 s GOP). Alternates decode-only and
decode+detect runs (``--repeat`` each) and reports CPU seconds per frame (medians), the
throughput ratio analyze / decode-only, and where the detector's time goes by stage.
A benchmark, not a test: the machine is shared, so compare the ratio, not bare times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from detector.pipeline import STAGES, Detector
from pipelines.camera import load_camera
from pipelines.sources import open_video

ROOT = Path(__file__).resolve().parents[1]


def decode_only(video: Path) -> tuple[float, int]:
    c0 = time.process_time()
    n = 0
    with open_video(video) as src:
        for _ in src.frames():
            n += 1
    return time.process_time() - c0, n


def analyze(video: Path, camera: Path | None) -> tuple[float, int, dict[str, float]]:
    cam = load_camera(camera) if camera else None
    c0 = time.process_time()
    n = 0
    with open_video(video) as src:
        info = src.info
        det = Detector(info.width, info.height, info.fps,
                       cam.detector if cam else None, cam.calibration() if cam else None,
                       cam.exclude if cam else ())
        for fr in src.frames():
            det.process(fr.luma, fr.t_s)
            n += 1
        det.finish()
    return time.process_time() - c0, n, {k: v / max(n, 1) for k, v in det.timings.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", type=Path, default=ROOT / "sample_videos/day_7_0000.mp4")
    ap.add_argument("camera", nargs="?", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    camera = a.camera
    if camera is None and a.video.with_suffix(".yaml").exists():
        camera = a.video.with_suffix(".yaml")
    dec, ana = [], []
    stages: dict[str, list[float]] = {k: [] for k in STAGES}
    n = 0
    for _ in range(a.repeat):
        s, n = decode_only(a.video)
        dec.append(s / n)
        s, n, st = analyze(a.video, camera)
        ana.append(s / n)
        for k, v in st.items():
            stages[k].append(v)
    d, t = statistics.median(dec), statistics.median(ana)
    print(f"{a.video.name}: {n} frames, camera {camera.name if camera else 'none'}")
    print(f"decode only      {d * 1000:6.2f} ms CPU/frame  ({1 / d:6.1f} fps)")
    print(f"decode + detect  {t * 1000:6.2f} ms CPU/frame  ({1 / t:6.1f} fps)")
    print(f"ratio analyze/decode-only throughput: {d / t:.2f}, detector {1000 * (t - d):.2f} ms")
    print("detector by stage (wall ms/frame, median of runs):")
    for k, v in stages.items():
        print(f"  {k:10s} {1000 * statistics.median(v):6.2f}")


if __name__ == "__main__":
    main()
