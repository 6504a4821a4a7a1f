"""``python -m benchmarks.run --quick --out DIR``: every part, the table and the plots.

Runs the real quick benchmark once (real H.264 scenes from fixed seeds, cached in
``benchmarks/.cache``) and checks what an engineer reading the results would check.
No wall-clock time is asserted: only that the numbers are present, consistent with
each other and in sane ranges.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from benchmarks.baselines.part import scene_set
from benchmarks.common import make_scene
from pipelines.evaluate import evaluate_scene

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    r = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def results(run_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return doc


def test_results_have_every_part_and_the_machine(results: dict[str, Any]) -> None:
    assert set(results["parts"]) == {"throughput", "baselines", "scaling"}
    meta = results["meta"]
    assert meta["quick"] is True
    assert meta["command"] == "python -m benchmarks.run --quick --out DIR"
    assert meta["machine"]["cores"] >= 1
    assert sorted(meta["plots"]) == ["baselines.png", "scaling.png", "throughput.png"]


def test_throughput_per_resolution(results: dict[str, Any]) -> None:
    t = results["parts"]["throughput"]
    sizes = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
    assert set(t["resolutions"]) == set(sizes)
    # camera-like H.264 bit rates (Mbit/s)
    rates = {"720p": (0.8, 5.0), "1080p": (1.5, 8.0), "4k": (5.0, 25.0)}
    for res, r in t["resolutions"].items():
        assert (r["width"], r["height"]) == sizes[res]
        assert rates[res][0] <= r["mbit_s"] <= rates[res][1], (res, r["mbit_s"])
        ms = r["cpu_ms_per_frame"]
        for k in ("decode", "background", "blobs", "tracker", "detector", "end_to_end"):
            assert ms[k] > 0, (res, k)
        # end to end decodes and detects, so it costs more than decoding alone
        assert ms["end_to_end"] > ms["decode"]
        # the stage groups are parts of the whole detector
        assert ms["background"] + ms["blobs"] + ms["tracker"] <= ms["detector"] * 1.01
        for k, v in r["ratio_to_decode"].items():
            assert math.isclose(v, ms[k] / ms["decode"], rel_tol=1e-9)
        assert math.isclose(r["streams_per_core"]["end_to_end"],
                            1000.0 / (r["fps"] * ms["end_to_end"]), rel_tol=1e-9)
        mem = r["memory"]
        assert "error" not in mem, mem
        assert mem["frames"] == r["frames"]
        assert mem["stream_peak_kib"] > 0
    # a 4K stream holds more memory than a 720p one (9x the pixels)
    res = t["resolutions"]
    assert res["4k"]["memory"]["stream_peak_kib"] > res["720p"]["memory"]["stream_peak_kib"]
    clf = t["classifier"]
    assert isinstance(clf["available"], bool) and clf["source"]
    for r in res.values():
        if clf["available"]:
            assert "classifier" in r["cpu_ms_per_frame"]
        else:
            assert "classifier" not in r["cpu_ms_per_frame"]


def test_baselines_side_by_side_with_stated_settings(results: dict[str, Any]) -> None:
    b = results["parts"]["baselines"]
    methods = b["methods"]
    assert list(methods) == ["fallwatch", "mog2_fullres", "frigate_style",
                             "bytetrack_our_blobs"]
    detectable = {m["detectable"] for m in methods.values()}
    assert len(detectable) == 1 and detectable.pop() > 0  # the same scenes for everyone
    for name, m in methods.items():
        for k in ("recall", "precision", "floor_exact_rate", "floor_within1_rate"):
            assert m[k] is None or 0.0 <= m[k] <= 1.0, (name, k)
        assert m["false_alarms"] >= 0 and m["false_alarms_per_hour"] >= 0
        assert m["matched"] <= m["detectable"]
        assert m["cpu_ms_per_frame"] > 0
        assert len(m["per_scene"]) == len(b["scenes"])
    assert methods["fallwatch"]["cost_vs_ours"] == 1.0
    s = json.dumps(methods["mog2_fullres"]["settings"])
    for text in ("history 500", "varThreshold 16", "detectShadows False", "3x3", "60 px gate",
                 ">= 8 points", "70%", "60 px below"):
        assert text in s, text
    s = json.dumps(methods["frigate_style"]["settings"])
    for text in ("100 px high", "alpha 0.01", "threshold 30", "60 px gate"):
        assert text in s, text
    assert "BYTETracker" in json.dumps(methods["bytetrack_our_blobs"]["settings"])


def test_our_row_is_scored_exactly_like_fallwatch_eval(results: dict[str, Any]) -> None:
    """The baselines part runs our detector on frames it decoded itself; ``fallwatch eval``
    (analyze's own path) must find the same on the same scenes."""
    ours = {r["scene"]: r for r in results["parts"]["baselines"]["methods"]["fallwatch"]
            ["per_scene"]}
    for req in scene_set(quick=True):
        row = evaluate_scene(make_scene(req))
        mine = ours[row["scene"]]
        for k in ("detectable", "matched", "events", "false_alarms"):
            assert row[k] == mine[k], (row["scene"], k)


def test_scaling_with_resolution_rain_and_flock(results: dict[str, Any]) -> None:
    s = results["parts"]["scaling"]
    assert list(s["resolution"]) == ["720p", "1080p", "4k"]
    mp = [p["megapixels"] for p in s["resolution"].values()]
    assert mp == sorted(mp)
    # decoding grows with the pixels
    assert s["resolution"]["4k"]["decode_ms_per_frame"] > s["resolution"]["720p"][
        "decode_ms_per_frame"]
    for key, count in (("rain", "drops"), ("flock", "birds")):
        pts = s[key]
        assert [p[count] for p in pts] == sorted(p[count] for p in pts) and len(pts) >= 3
        assert pts[0][count] == 0
        # more moving things, more blobs handed to the tracker
        assert pts[-1]["blobs_per_frame"] > pts[0]["blobs_per_frame"], key
        for p in pts:
            assert p["detector_ms_per_frame"] > 0 and p["decode_ms_per_frame"] > 0
    cams = s["cameras"]
    if importlib.util.find_spec("pipelines.live") is None:
        assert not cams["measured"] and "not yet measured" in cams["reason"]
        return
    # fallwatch watch with 1 and 2 RTSP cameras: every camera's stream is read at near its
    # frame rate (analysed or dropped), and two cameras use more CPU than one
    assert cams["measured"]
    runs = cams["runs"]
    assert [r["cameras"] for r in runs] == [1, 2]
    for r in runs:
        assert r["received_fps_per_camera"] > 0.5 * cams["fps"], r
        assert 0 < r["fps_per_camera"] <= r["received_fps_per_camera"]
        assert r["cores"] > 0 and r["cpu_ms_per_frame"] > 0 and r["rss_mib_per_worker"] > 0
    assert runs[1]["cores"] > runs[0]["cores"]


def test_table_and_plots_exist(run_dir: Path, results: dict[str, Any]) -> None:
    md = (run_dir / "results.md").read_text(encoding="utf-8")
    for text in ("### Throughput", "### Baselines", "### Scaling", "fallwatch (ours)",
                 "MOG2 full-res", "frigate-style", "BYTETracker", "streams per core",
                 "memory per stream", "python -m benchmarks.run --quick --out DIR"):
        assert text in md, text
    for name in results["meta"]["plots"]:
        assert f"]({name})" in md
        img = cv2.imread(str(run_dir / name))
        assert img is not None, name
        h, w = img.shape[:2]
        assert w >= 400 and h >= 250
        assert float(np.std(img)) > 5.0  # drawn, not blank
