"""``fallwatch eval`` with the classifier: precision and recall at the threshold, and the
precision-recall curve over thresholds as a PNG."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from detector.classifier import load_classifier
from models import default_model_path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_videos"


def _scenes(tmp_path: Path) -> Path:
    d = tmp_path / "scenes"
    d.mkdir()
    for name in ("day_7_0000", "distractors_9_0005"):
        for ext in (".mp4", ".yaml", ".truth.json"):
            shutil.copy(SAMPLES / f"{name}{ext}", d / f"{name}{ext}")
    return d


def _eval(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", "eval", *args],
                          capture_output=True, text=True, cwd=ROOT, check=False)


@pytest.mark.slow
def test_eval_reports_the_threshold_and_draws_the_pr_curve(tmp_path: Path) -> None:
    scenes = _scenes(tmp_path)
    png, out = tmp_path / "pr.png", tmp_path / "eval.json"
    r = _eval(str(scenes), "--pr-curve", str(png), "--json", str(out), "--jobs", "2")
    assert r.returncode == 0, r.stderr
    # no camera file sets classifier_threshold: the shipped weights' own stands
    thr = round(load_classifier(default_model_path()).threshold, 6)
    assert f"at threshold {thr:.4g}: precision" in r.stdout
    img = cv2.imread(str(png))
    assert img is not None and img.shape == (480, 640, 3)
    totals = json.loads(out.read_text())["totals"]
    assert totals["classifier"]["threshold"] == thr
    curve = totals["pr_curve"]
    grid = [round(0.02 * i, 2) for i in range(51)]
    assert [c["threshold"] for c in curve] == sorted({*grid, thr})
    recalls = [c["recall"] for c in curve]
    assert all(a >= b for a, b in itertools.pairwise(recalls))  # non-increasing
    at = next(c for c in curve if c["threshold"] == totals["classifier"]["threshold"])
    assert at["recall"] == totals["recall"]  # the table's numbers are those at the threshold
    # a higher threshold never adds false alarms
    fas = [c["false_alarms"] for c in curve]
    assert all(a >= b for a, b in itertools.pairwise(fas))


def test_eval_without_a_classifier_cannot_draw_a_pr_curve(tmp_path: Path) -> None:
    r = _eval(str(_scenes(tmp_path)), "--no-classifier", "--pr-curve", str(tmp_path / "x.png"))
    assert r.returncode == 2
    assert "--pr-curve needs a classifier" in r.stderr


def test_eval_with_missing_weights_exits_2(tmp_path: Path) -> None:
    r = _eval(str(_scenes(tmp_path)), "--model", str(tmp_path / "gone.pt"))
    assert r.returncode == 2
    assert "gone.pt: classifier weights not found" in r.stderr
