"""Decode speed: plain PyAV against ``pipelines.sources`` on a 1080p H.264 file.

Writes a 10 s 1920x1080 25 fps H.264 clip (libx264, about 4 Mbit/s, a keyframe every 50
frames, a scrolling noise texture with moving squares so every frame changes), then times

- plain PyAV: ``container.decode`` with thread_type AUTO, touching ``frame.planes[0]``;
- plain PyAV with ``skip_loop_filter=all``;
- ``VideoSource.frames()`` (fast_decode=True, the default) and with fast_decode=False;

and prints CPU and wall milliseconds per frame (medians of ``--repeat`` round-robin runs)
and the ratios.

    python -m benchmarks.decode_speed [--keep clip.mp4] [--repeat 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from pipelines.sources import open_video

WIDTH, HEIGHT, FPS, SECONDS = 1920, 1080, 25, 10


def write_clip(path: Path) -> None:
    """Encode the benchmark clip: (1080, 1920) luma pictures, 250 frames."""
    rng = np.random.default_rng(0)
    texture = rng.normal(110, 25, size=(HEIGHT // 4, (WIDTH + 4 * FPS * SECONDS) // 4))
    texture = np.repeat(np.repeat(np.clip(texture, 0, 255).astype(np.uint8), 4, 0), 4, 1)
    fine = rng.integers(0, 12, size=(HEIGHT, texture.shape[1]), dtype=np.uint8)
    texture = texture + fine  # detail at every scale, as a facade has
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate = 4_000_000
        stream.options = {"g": "50", "keyint_min": "50", "sc_threshold": "0", "preset": "fast"}
        for i in range(FPS * SECONDS):
            luma = np.array(texture[:, 4 * i : 4 * i + WIDTH], dtype=np.uint8)
            for k in range(6):
                x = (200 + 300 * k + 7 * i) % (WIDTH - 40)
                y = (100 + 150 * k + 11 * i) % (HEIGHT - 40)
                luma[y : y + 12 + 4 * k, x : x + 12 + 4 * k] = 240 - 30 * k
            frame = av.VideoFrame.from_ndarray(luma, format="gray").reformat(format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def plain(path: Path, skip_loop_filter: bool) -> int:
    n = 0
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        stream.thread_type = "AUTO"
        if skip_loop_filter:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        for frame in src.decode(stream):
            _ = frame.planes[0]
            n += 1
    return n


def ours(path: Path, fast_decode: bool) -> int:
    n = 0
    with open_video(path) as source:
        for frame in source.frames(fast_decode=fast_decode):
            _ = frame.luma
            n += 1
        assert source.complete
    return n


def measure(run: Callable[[], int]) -> tuple[float, float, int]:
    """(cpu_ms, wall_ms) per frame of one run, and the frame count."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    frames = run()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / frames * 1e3, wall / frames * 1e3, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the clip here (reused if it exists)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench1080.mp4"
        if not path.exists():
            t0 = time.perf_counter()
            write_clip(path)
            print(f"wrote {path} in {time.perf_counter() - t0:.1f} s")
        mbit = path.stat().st_size * 8 / SECONDS / 1e6
        print(f"clip: {WIDTH}x{HEIGHT}, {FPS} fps, {SECONDS} s, {mbit:.1f} Mbit/s")
        runs = {
            "plain PyAV decode": lambda: plain(path, skip_loop_filter=False),
            "plain PyAV, skip_loop_filter=all": lambda: plain(path, skip_loop_filter=True),
            "frames(fast_decode=True)": lambda: ours(path, fast_decode=True),
            "frames(fast_decode=False)": lambda: ours(path, fast_decode=False),
        }
        samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in runs}
        for _ in range(args.repeat):  # round robin, so drift hits every variant alike
            for name, run in runs.items():
                samples[name].append(measure(run))
    results = {
        name: (
            float(np.median([s[0] for s in rows])),
            float(np.median([s[1] for s in rows])),
            rows[0][2],
        )
        for name, rows in samples.items()
    }
    base_cpu = results["plain PyAV decode"][0]
    print(f"medians of {args.repeat} runs")
    print(f"{'':36s} {'cpu ms/frame':>12s} {'wall ms/frame':>13s} {'cpu ratio':>9s}")
    for name, (cpu, wall, frames) in results.items():
        print(f"{name:36s} {cpu:12.2f} {wall:13.2f} {cpu / base_cpu:9.2f}  ({frames} frames)")
    for ours_name, plain_name in (
        ("frames(fast_decode=False)", "plain PyAV decode"),
        ("frames(fast_decode=True)", "plain PyAV, skip_loop_filter=all"),
    ):
        print(
            f"{ours_name} / {plain_name}: cpu x{results[ours_name][0] / results[plain_name][0]:.3f}"
            f", wall x{results[ours_name][1] / results[plain_name][1]:.3f}"
        )


if __name__ == "__main__":
    main()
