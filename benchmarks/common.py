"""What every benchmark part shares: seeded inputs in a cache folder, clocks, memory, JSON.

Inputs are generated scenes (``pipelines.synth``) from fixed seeds, written once into
``benchmarks/.cache/`` (or ``$FALLWATCH_BENCH_CACHE``) and reused: a scene is complete
when its ``NAME.truth.json`` exists (the generator writes it last).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipelines.analyze import write_json_atomic
from pipelines.camera import CameraFile, load_camera
from pipelines.sources import VideoInfo, open_video
from pipelines.synth.scene import SynthOptions, add_flock, sample_scene
from pipelines.synth.writer import GENERATOR_VERSION, write_scene

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
RESOLUTIONS = ("720p", "1080p", "4k")


def cache_dir() -> Path:
    """Folder for generated inputs: ``$FALLWATCH_BENCH_CACHE`` or ``benchmarks/.cache``."""
    env = os.environ.get("FALLWATCH_BENCH_CACHE")
    return Path(env) if env else ROOT / "benchmarks" / ".cache"


@dataclass(frozen=True)
class SceneRequest:
    """One generated scene, fully determined by its fields.

    ``seed``/``index`` pick the scene as ``fallwatch synth --seed S --start index`` would,
    with one resolution and frame rate, no night and no rain unless asked (``*_share``).
    ``clean`` keeps only the falling objects (no random distractors, light switches,
    curtains, shake or clouds) so that ``rain_drops`` and ``flock`` are the only movers added.
    """

    seed: int
    index: int
    resolution: str
    duration_s: float
    fps: float = 25.0
    distractor_only: bool = False
    night_share: float = 0.0
    rain_share: float = 0.0
    rain_drops: int | None = None  # None: as sampled; else this many drops
    flock: int = 0  # birds in an added flock
    clean: bool = False

    @property
    def name(self) -> str:
        kind = "dis" if self.distractor_only else "obj"
        parts = [f"b{self.seed}", f"{self.index:03d}", self.resolution, kind,
                 f"{self.duration_s:g}s", f"{self.fps:g}fps"]
        if self.night_share:
            parts.append(f"n{self.night_share:g}")
        if self.rain_share:
            parts.append(f"r{self.rain_share:g}")
        if self.rain_drops is not None:
            parts.append(f"rain{self.rain_drops}")
        if self.flock:
            parts.append(f"flock{self.flock}")
        if self.clean:
            parts.append("clean")
        return "_".join(parts)


def make_scene(req: SceneRequest, folder: Path | None = None) -> Path:
    """The video of ``req`` (generated into ``folder``/the cache unless already there)."""
    out = (folder or cache_dir()) / f"gen{GENERATOR_VERSION}"
    video = out / f"{req.name}.mp4"
    if video.with_name(req.name + ".truth.json").is_file() and video.is_file():
        return video
    opts = SynthOptions(
        distractor_share=1.0 if req.distractor_only else 0.0,
        duration_s=req.duration_s,
        distractor_duration_s=req.duration_s,
        night_share=req.night_share,
        rain_share=req.rain_share,
        resolutions=((req.resolution, 1.0),),
        fps_choices=((req.fps, 1.0),),
    )
    spec = sample_scene(req.seed, req.index, opts, req.name)
    if req.clean:
        spec = dataclasses.replace(
            spec, movers=[m for m in spec.movers if m.role == "object"], light_toggles=[],
            curtains=[], shake_px=0.0, cloud_change=0.0)
    if req.rain_drops is not None:
        spec = dataclasses.replace(spec, rain_drops=int(req.rain_drops))
    if req.flock:
        add_flock(spec, req.flock, start_t=0.3, seed=req.seed * 1000 + req.index)
    t0 = time.perf_counter()
    write_scene(spec, out)
    log.info("generated %s in %.1f s", video.name, time.perf_counter() - t0)
    return video


def camera_of(video: Path) -> CameraFile | None:
    """The camera file beside ``video`` (``NAME.yaml``), or None."""
    cam = video.with_suffix(".yaml")
    return load_camera(cam) if cam.is_file() else None


def truth_of(video: Path) -> dict[str, Any]:
    """The labels beside ``video`` (``NAME.truth.json``)."""
    doc: dict[str, Any] = json.loads(
        video.with_name(video.stem + ".truth.json").read_text(encoding="utf-8"))
    return doc


@dataclass
class Decoded:
    """A whole video decoded into memory: ``frames`` is a list of (t_s, (H, W) uint8 luma)."""

    info: VideoInfo
    frames: list[tuple[float, np.ndarray]]
    cpu_s: float  # process CPU time the decoding took
    wall_s: float


def decode_all(video: Path) -> Decoded:
    """Decode ``video`` as ``analyze`` does (``VideoSource.frames()``), keeping copies."""
    c0, w0 = time.process_time(), time.perf_counter()
    frames: list[tuple[float, np.ndarray]] = []
    with open_video(video) as src:
        info = src.info
        for fr in src.frames():
            frames.append((fr.t_s, np.ascontiguousarray(fr.luma).copy()))
    return Decoded(info, frames, time.process_time() - c0, time.perf_counter() - w0)


def decode_only(video: Path) -> tuple[float, int]:
    """(process CPU seconds, frames) of decoding ``video`` and touching each luma plane."""
    c0 = time.process_time()
    n = 0
    with open_video(video) as src:
        for fr in src.frames():
            _ = fr.luma
            n += 1
    return time.process_time() - c0, n


def cpu_time(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(process CPU seconds, result) of calling ``fn``."""
    c0 = time.process_time()
    out = fn()
    return time.process_time() - c0, out


def proc_status_kib(*keys: str) -> dict[str, int]:
    """Fields of ``/proc/self/status`` in KiB (e.g. ``VmRSS``, ``VmHWM``)."""
    out: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            name, _, rest = line.partition(":")
            if name in keys:
                out[name] = int(rest.split()[0])
    return out


def machine() -> dict[str, Any]:
    """Where the numbers come from: CPU, cores, load, library versions, time."""
    cpu = platform.processor() or ""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
        for line in text.splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import av

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "loadavg_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "pyav": av.__version__,
        "opencv_threads": cv2.getNumThreads(),
        "time_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_state(),
    }


def git_state() -> dict[str, Any]:
    """The commit measured and the code files changed on top of it (uncommitted)."""
    import subprocess

    def git(*args: str) -> str:
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                           check=False)
        return r.stdout.rstrip() if r.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "detector", "pipelines", "benchmarks")
    return {"commit": git("rev-parse", "--short", "HEAD").strip() or None,
            "uncommitted": [line[3:] for line in changed.splitlines() if line[:2].strip()]}


def part_arguments(description: str) -> argparse.ArgumentParser:
    """The command line every part accepts: ``--quick`` and ``--out DIR``."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small inputs, a few minutes (for CI)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for PART.json (created if missing)")
    return p


def write_part(out: Path, name: str, doc: dict[str, Any]) -> Path:
    """Write one part's results to ``out/NAME.json`` atomically; return the path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    write_json_atomic(path, doc)
    return path


def setup_logging() -> None:
    """INFO from the benchmarks, WARNING and up from the rest (no per-event lines)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("benchmarks").setLevel(logging.INFO)
    logging.getLogger("__main__").setLevel(logging.INFO)
