"""Helpers for the command-line tests: generated labelled scenes, running ``fallwatch``.

Plain functions (the test modules wrap them in fixtures), so that a scene set rendered
once serves every module of the session.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import pytest

from pipelines.cli import main

SYNTH_SEED = 500  # seeds >= 500 belong to these tests (dev scenes use lower ones)
SYNTH_COUNT = 3
CONTRACT_KEYS = {"source", "fps", "frames", "width", "height", "complete", "events"}
EVENT_KEYS = {"id", "start_s", "end_s", "score", "trajectory", "origin", "clip"}
ORIGIN_KEYS = {"t_s", "x_px", "y_px", "floor"}


def synth_scenes(factory: pytest.TempPathFactory) -> list[Path]:
    """Three 6 s 720p daylight scenes at 25 fps with falling objects (seed 500), rendered
    once per session by ``fallwatch synth``; returns the NAME.mp4 paths."""
    folder = factory.getbasetemp() / f"synth_{SYNTH_SEED}"
    done = folder / ".done"
    if not done.exists():
        code = main([
            "synth", str(folder), "--count", str(SYNTH_COUNT), "--seed", str(SYNTH_SEED),
            "--resolutions", "720p", "--duration", "6", "--fps", "25",
            "--distractor-share", "0", "--night-share", "0", "--rain-share", "0",
        ])
        assert code == 0
        done.touch()
    scenes = sorted(folder.glob("*.mp4"))
    assert len(scenes) == SYNTH_COUNT
    return scenes


def run_cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``fallwatch ARGV`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_console(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """The installed ``fallwatch`` console script as a user runs it."""
    exe = Path(sys.executable).with_name("fallwatch")
    return subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=300)


def analyze_json(video: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    """Run ``fallwatch analyze VIDEO EXTRA...`` (exit 0 expected) and parse its stdout."""
    code, out, err = run_cli(["analyze", str(video), *extra], capsys)
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def video_packets(path: Path) -> list[tuple[bytes, bool, float]]:
    """``(bytes, keyframe, pts seconds)`` of every video packet in demux order."""
    rows = []
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        tb = stream.time_base
        for p in src.demux(stream):
            if p.size:
                ts = p.pts if p.pts is not None else p.dts
                rows.append((bytes(p), bool(p.is_keyframe), float(ts * tb) if ts is not None
                             and tb is not None else 0.0))
    return rows
