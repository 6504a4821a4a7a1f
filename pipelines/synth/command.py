"""``fallwatch synth OUT_DIR --count N --seed S``: render labelled scenes."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from pipelines.runtime import worker_pool
from pipelines.synth.scene import RESOLUTIONS, SynthOptions, sample_scene
from pipelines.synth.writer import write_scene

log = logging.getLogger(__name__)


def _weights(text: str, known: dict[str, Any] | None, what: str) -> tuple[tuple[Any, float], ...]:
    """Parse ``a:0.3,b:0.7`` (weights optional) into ((a, 0.3), (b, 0.7))."""
    out = []
    for part in text.split(","):
        name, _, w = part.strip().partition(":")
        if known is not None and name not in known:
            raise argparse.ArgumentTypeError(
                f"unknown {what} '{name}', expected one of {', '.join(known)}"
            )
        key: Any = name if known is not None else float(name)
        out.append((key, float(w) if w else 1.0))
    return tuple(out)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out_dir", type=Path, help="folder for NAME.mp4, NAME.yaml, NAME.truth.json")
    p.add_argument("--count", type=int, default=10, help="number of scenes (default 10)")
    p.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed gives the same scenes"
    )
    p.add_argument(
        "--start", type=int, default=0, help="index of the first scene (to extend a set)"
    )
    p.add_argument("--prefix", default="scene", help="scene names are PREFIX_SEED_INDEX")
    p.add_argument(
        "--distractor-share",
        type=float,
        default=0.3,
        help="share of scenes with distractors only, no falling object (default 0.3)",
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds per scene with objects")
    p.add_argument(
        "--distractor-duration",
        type=float,
        default=30.0,
        help="seconds per distractor-only scene (default 30)",
    )
    p.add_argument(
        "--night-share", type=float, default=0.3, help="share of night scenes (default 0.3)"
    )
    p.add_argument(
        "--rain-share", type=float, default=0.2, help="share of rainy scenes (default 0.2)"
    )
    p.add_argument(
        "--resolutions",
        default="720p:0.35,1080p:0.5,4k:0.15",
        help="resolutions with weights, e.g. '1080p' or '720p:1,4k:1'",
    )
    p.add_argument("--fps", default="25:0.7,30:0.2,15:0.1", help="frame rates with weights")
    p.add_argument("--max-objects", type=int, default=3, help="most objects per scene (default 3)")
    p.add_argument(
        "--hard",
        type=int,
        default=0,
        help="extra hard distractors per scene, of the kinds that fall or swoop like objects "
        "(birds gliding, swooping and diving, leaves, towels shaken out, moths at the lens): "
        "what the learned classifier is for (default 0)",
    )
    p.add_argument("--jobs", type=int, default=1, help="scenes rendered in parallel")
    p.add_argument(
        "--contact-sheet",
        type=Path,
        metavar="PNG",
        help="also write one labelled frame of every scene made, as a PNG grid",
    )


def run(args: argparse.Namespace) -> int:
    for name in ("distractor_share", "night_share", "rain_share"):
        v = getattr(args, name)
        if not 0.0 <= v <= 1.0:
            log.error("--%s must be between 0 and 1, got %s", name.replace("_", "-"), v)
            return 2
    if (
        args.count < 1
        or args.duration <= 0
        or args.distractor_duration <= 0
        or args.max_objects < 1
    ):
        log.error("--count, --duration, --distractor-duration and --max-objects must be positive")
        return 2
    if args.hard < 0:
        log.error("--hard must be 0 or more, got %d", args.hard)
        return 2
    try:
        opts = SynthOptions(
            distractor_share=args.distractor_share,
            duration_s=args.duration,
            distractor_duration_s=args.distractor_duration,
            night_share=args.night_share,
            rain_share=args.rain_share,
            resolutions=_weights(args.resolutions, RESOLUTIONS, "resolution"),
            fps_choices=_weights(args.fps, None, "fps"),
            max_objects=args.max_objects,
        )
    except (argparse.ArgumentTypeError, ValueError) as e:
        log.error("%s", e)
        return 2
    jobs = [
        (
            args.seed,
            args.start + i,
            opts,
            f"{args.prefix}_{args.seed}_{args.start + i:04d}",
            args.out_dir,
            args.hard,
        )
        for i in range(args.count)
    ]
    if args.jobs > 1:
        with worker_pool(args.jobs) as pool:
            for stats in pool.map(_one, jobs):
                _report(stats)
    else:
        for j in jobs:
            _report(_one(j))
    if args.contact_sheet is not None:
        from pipelines.synth.contact_sheet import contact_sheet

        contact_sheet([j[4] / f"{j[3]}.mp4" for j in jobs], args.contact_sheet, cols=4, tile_w=480)
        print(f"contact sheet: {args.contact_sheet}")
    return 0


def _one(job: tuple[int, int, SynthOptions, str, Path, int]) -> dict[str, Any]:
    seed, index, opts, name, out, hard = job
    return write_scene(sample_scene(seed, index, opts, name, hard), out)


def _report(stats: dict[str, Any]) -> None:
    print(
        f"{stats['name']}: {stats['frames']} frames {stats['resolution']}, "
        f"render {stats['render_fps']:.1f} fps, with encoding {stats['total_fps']:.1f} fps",
        flush=True,
    )
