"""``fallwatch eval``: DESIGN.md's scoring rule on tiny literal scenes, and the command."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from fixtures_cli import run_cli, synth_scenes

from pipelines.analyze import analyze_file
from pipelines.camera import load_camera
from pipelines.evaluate import format_table, is_detectable, score_scene, summarize

FPS = 25.0


def track(frames: range, x: float = 100.0, y0: float = 50.0, dy: float = 10.0,
          r: float = 2.0) -> list[list[float]]:
    """Rows ``[frame, x, y, radius]`` of an object falling ``dy`` px per frame."""
    return [[f, x, y0 + dy * (f - frames.start), r] for f in frames]


def obj(rows: list[list[float]], kind: str = "bottle", floor: int | None = 7) -> dict[str, Any]:
    return {"kind": kind, "release_frame": rows[0][0] - 1, "origin_floor": floor, "track": rows}


def truth(*objects: dict[str, Any], frames: int = 250, lighting: str = "day",
          distractors: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"video": "t.mp4", "fps": FPS, "frames": frames, "width": 640, "height": 480,
            "objects": list(objects),
            "distractors": [{"kind": k, "first_frame": 0, "last_frame": 10} for k in distractors],
            "scene": {"lighting": lighting}}


def event(points: list[tuple[int, float, float]], eid: str = "e",
          floor: int | None = None) -> dict[str, Any]:
    """An event whose trajectory points lie in the given frames at the given pixels."""
    traj = [[f / FPS, x, y] for f, x, y in points]
    return {"id": eid, "start_s": traj[0][0], "end_s": traj[-1][0], "score": 0.9,
            "trajectory": traj, "origin": {"t_s": traj[0][0], "x_px": traj[0][1],
                                           "y_px": traj[0][2], "floor": floor}, "clip": None}


def along(rows: list[list[float]], frames: list[int], dx: float = 0.0,
          shift: int = 0) -> list[tuple[int, float, float]]:
    """Points on the object's track in ``frames``, ``dx`` px to the side, reported
    ``shift`` frames late."""
    at = {int(r[0]): r for r in rows}
    return [(f + shift, at[f][1] + dx, at[f][2]) for f in frames]


ROWS = track(range(10, 30))  # 20 rows, radius 2: detectable, tolerance max(12, 8) = 12 px


def test_event_on_the_track_matches() -> None:
    s = score_scene([event(along(ROWS, [12, 13, 14, 15]))], truth(obj(ROWS)))

    assert (s["detectable"], s["matched"], s["false_alarms"], s["matched_events"]) == (1, 1, 0, 1)
    assert s["matches"][0]["points"] == 4


def test_twelve_px_is_the_limit_for_small_objects() -> None:
    at_limit = score_scene([event(along(ROWS, [12, 13, 14], dx=12.0))], truth(obj(ROWS)))
    beyond = score_scene([event(along(ROWS, [12, 13, 14], dx=12.5))], truth(obj(ROWS)))

    assert (at_limit["matched"], at_limit["false_alarms"]) == (1, 0)
    assert (beyond["matched"], beyond["false_alarms"]) == (0, 1)


def test_large_objects_allow_four_radii() -> None:
    big = track(range(10, 30), r=5.0)  # tolerance 20 px
    s = score_scene([event(along(big, [12, 13, 14], dx=19.0))], truth(obj(big)))
    assert s["matched"] == 1
    s = score_scene([event(along(big, [12, 13, 14], dx=21.0))], truth(obj(big)))
    assert s["matched"] == 0


def test_points_one_frame_off_count_two_frames_off_do_not() -> None:
    # dy = 10 px per frame: a point reported one frame late sits 10 px from the object in
    # its own frame but exactly on it in the frame before.
    late_one = score_scene([event(along(ROWS, [12, 14, 16], shift=1))], truth(obj(ROWS)))
    fast = track(range(10, 30), dy=30.0)  # two frames apart = 60 px away
    late_two = score_scene([event(along(fast, [12, 14, 16], shift=2))], truth(obj(fast)))

    assert late_one["matched"] == 1
    assert late_two["matched"] == 0 and late_two["false_alarms"] == 1


def test_point_time_to_frame_rounds() -> None:
    # A fast object (30 px per frame): only its own frame and the next/previous count.
    fast = track(range(10, 30), dy=30.0)

    def late_by(frames: float) -> dict[str, Any]:
        ev = event(along(fast, [12, 14, 16]))
        for p in ev["trajectory"]:
            p[0] += frames / FPS
        return score_scene([ev], truth(obj(fast)))

    assert late_by(0.4)["matched"] == 1  # rounds to the same frame
    assert late_by(1.4)["matched"] == 1  # rounds to the next frame: within one frame
    assert late_by(1.6)["matched"] == 0  # rounds two frames on


def test_two_close_points_are_not_enough() -> None:
    s = score_scene([event([*along(ROWS, [12, 13]), (14, 400.0, 400.0)])], truth(obj(ROWS)))
    assert (s["matched"], s["false_alarms"]) == (0, 1)


def test_matching_is_one_to_one_greedy_by_points() -> None:
    # Two events along the same object: the one with more close points takes it; the
    # other is a false alarm.
    s = score_scene(
        [event(along(ROWS, [12, 13, 14]), "short"), event(along(ROWS, [15, 16, 17, 18]), "long")],
        truth(obj(ROWS)),
    )
    assert [m["event"] for m in s["matches"]] == ["long"]
    assert s["false_alarm_ids"] == ["short"]
    assert (s["matched"], s["matched_events"], s["false_alarms"]) == (1, 1, 1)


def test_greedy_does_not_search_for_a_better_assignment() -> None:
    # Objects a and b fall side by side 10 px apart: event A is close to both (5 points),
    # event B only to a (3 points). Greedy gives a to A first; B is then unmatched, and b
    # too, although A-b + B-a would match both.
    a = track(range(10, 30), x=100.0)
    b = track(range(10, 30), x=110.0)
    ev_a = event(along(a, [12, 13, 14, 15, 16], dx=5.0), "A")  # 5 px from both
    ev_b = event(along(a, [20, 21, 22], dx=-8.0), "B")  # 8 px from a, 18 px from b
    s = score_scene([ev_b, ev_a], truth(obj(a), obj(b)))

    assert [(m["event"], m["object"]) for m in s["matches"]] == [("A", 0)]
    assert (s["detectable"], s["matched"], s["false_alarms"]) == (2, 1, 1)


def test_event_on_an_undetectable_object_is_neither_a_hit_nor_a_false_alarm() -> None:
    short = track(range(10, 17))  # 7 rows
    faint = track(range(40, 60), r=0.8)  # never 1 px
    assert not is_detectable(obj(short)) and not is_detectable(obj(faint))
    assert is_detectable(obj(track(range(10, 18))))  # 8 rows

    s = score_scene(
        [event(along(short, [11, 12, 13]), "s"), event(along(faint, [41, 42, 43]), "f")],
        truth(obj(short), obj(faint)),
    )

    assert (s["detectable"], s["matched"], s["false_alarms"], s["matched_events"]) == (0, 0, 0, 2)


def test_floor_accuracy_exact_and_within_one() -> None:
    a = track(range(10, 30), x=100.0)
    b = track(range(10, 30), x=300.0)
    c = track(range(10, 30), x=500.0)
    s = score_scene(
        [event(along(a, [12, 13, 14]), "a", floor=7),  # exact
         event(along(b, [12, 13, 14]), "b", floor=9),  # one off
         event(along(c, [12, 13, 14]), "c", floor=None)],  # no floor: not counted
        truth(obj(a, floor=7), obj(b, floor=8), obj(c, floor=3)),
    )
    assert (s["floor_n"], s["floor_exact"], s["floor_within1"]) == (2, 1, 2)


def test_per_kind_counts_and_scene_facts() -> None:
    a = track(range(10, 30), x=100.0)
    b = track(range(10, 30), x=300.0)
    s = score_scene([event(along(a, [12, 13, 14]))],
                    truth(obj(a, kind="can"), obj(b, kind="bag"), frames=500, lighting="ir",
                          distractors=("rain", "bird", "rain")))
    assert s["by_kind"] == {"can": {"detectable": 1, "matched": 1},
                            "bag": {"detectable": 1, "matched": 0}}
    assert s["duration_s"] == 20.0
    assert s["lighting"] == "ir"
    assert s["distractors"] == ["bird", "rain"]


def test_totals_split_by_lighting_and_by_each_distractor_kind() -> None:
    # the recall that rain costs is hidden in the overall figure: each distractor kind
    # gets the scenes with it and those without it side by side
    a = track(range(10, 30))
    rainy = score_scene([], truth(obj(a), lighting="night", distractors=("rain", "bird")))
    dry = score_scene([event(along(a, [12, 13, 14]), "hit"), event([(5, 600.0, 400.0),
                                                                    (6, 600.0, 410.0)], "fa")],
                      truth(obj(a), distractors=("bird",)))
    for name, r in (("rainy", rainy), ("dry", dry)):
        r.update(scene=name, frames=250, wall_s=1.0, cpu_s=1.0, complete=True, width=640,
                 height=480, fps=FPS)
    t = summarize([rainy, dry])

    rain = t["by_distractor"]["rain"]
    with_rain = rain["with"]
    assert (with_rain["scenes"], with_rain["matched"], with_rain["detectable"]) == (1, 0, 1)
    assert rain["with"]["recall"] == 0.0 and rain["with"]["false_alarms"] == 0
    assert (rain["without"]["matched"], rain["without"]["false_alarms"]) == (1, 1)
    assert rain["without"]["false_alarms_per_hour"] == pytest.approx(360.0)  # 1 in 10 s
    bird = t["by_distractor"]["bird"]
    assert bird["with"]["scenes"] == 2 and bird["with"]["recall"] == 0.5
    assert bird["without"]["scenes"] == 0 and bird["without"]["recall"] is None
    assert t["by_lighting"]["night"]["recall"] == 0.0 and t["by_lighting"]["day"]["recall"] == 1.0

    table = format_table([rainy, dry], t)
    rain_line = next(line for line in table.splitlines() if line.startswith("  rain "))
    assert "0.0% (0/1) / 100.0% (1/1)" in rain_line and "in 1 / 1 scenes" in rain_line


def test_no_events_no_objects() -> None:
    s = score_scene([], truth())
    assert (s["detectable"], s["events"], s["false_alarms"]) == (0, 0, 0)


# -- the command -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the generated scenes (NAME.mp4, NAME.yaml, NAME.truth.json) and one
    video without truth, which eval must leave out."""
    folder = tmp_path_factory.mktemp("labelled")
    for video in synth_scenes(tmp_path_factory):
        for suffix in (".mp4", ".yaml", ".truth.json"):
            src = video.with_name(video.stem + suffix)
            (folder / src.name).symlink_to(src)
    (folder / "unlabelled.mp4").symlink_to(video)
    return folder


def _strip_timing(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("wall_s", "cpu_s")} for r in rows]


def test_eval_scores_each_scene_as_analyze_sees_it(
    labelled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval.json"
    code, stdout, stderr = run_cli(["eval", str(labelled), "--json", str(out)], capsys)

    assert code == 0, stderr
    report = json.loads(out.read_text())
    rows = report["scenes"]
    assert [r["scene"] for r in rows] == sorted(p.stem for p in labelled.glob("scene_*.mp4"))
    for row in rows:  # the same events as `fallwatch analyze` with the scene's camera file
        video = labelled / f"{row['scene']}.mp4"
        doc = analyze_file(video, load_camera(video.with_suffix(".yaml"))).doc
        truth_doc = json.loads(video.with_name(f"{row['scene']}.truth.json").read_text())
        expected = score_scene(doc["events"], truth_doc)
        assert {k: row[k] for k in expected} == expected
        assert row["frames"] == 150 and row["complete"] is True

    t = report["totals"]
    assert t["scenes"] == 3
    for key in ("detectable", "matched", "events", "false_alarms", "floor_n"):
        assert t[key] == sum(r[key] for r in rows)
    assert t["duration_s"] == pytest.approx(18.0)
    assert t["false_alarms_per_hour"] == pytest.approx(t["false_alarms"] / (18.0 / 3600))
    if t["detectable"]:
        assert t["recall"] == pytest.approx(t["matched"] / t["detectable"])
    if t["events"]:
        assert t["precision"] == pytest.approx(t["matched_events"] / t["events"])
    assert t["fps_wall"] > 0 and t["fps_cpu"] > 0
    assert sum(c["detectable"] for c in t["by_kind"].values()) == t["detectable"]
    assert set(t["by_lighting"]) == {"day"}

    lines = stdout.splitlines()
    total = next(line for line in lines if line.startswith("TOTAL"))
    assert "recall" in total and "false alarms" in total and "fps" in total
    assert all(r["scene"] in stdout for r in rows)
    assert "unlabelled" not in stdout


def test_parallel_jobs_give_the_same_scores(
    labelled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    assert run_cli(["eval", str(labelled), "--json", str(one)], capsys)[0] == 0
    assert run_cli(["eval", str(labelled), "--json", str(two), "--jobs", "2"], capsys)[0] == 0

    rows1 = json.loads(one.read_text())["scenes"]
    rows2 = json.loads(two.read_text())["scenes"]
    assert _strip_timing(rows1) == _strip_timing(rows2)


def test_a_detector_setting_applies_to_every_scene(
    labelled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--set KEY=VALUE`` overrides the camera files' detector block for one run: a track
    needs 200 points, so nothing is found; the scores are those of analyze with the same
    setting, and the report says what was set."""
    out = tmp_path / "set.json"
    code, _, stderr = run_cli(["eval", str(labelled), "--no-classifier", "--json", str(out),
                               "--set", "min_points=200"], capsys)
    assert code == 0, stderr
    report = json.loads(out.read_text())
    assert report["totals"]["settings"] == {"min_points": "200"}
    assert report["totals"]["events"] == 0
    plain = tmp_path / "plain.json"
    assert run_cli(["eval", str(labelled), "--no-classifier", "--json", str(plain)],
                   capsys)[0] == 0
    assert json.loads(plain.read_text())["totals"]["matched"] > 0

    for bad, why in (("min_pointz=3", "min_pointz: not a detector setting"),
                     ("min_points=many", "min_points"), ("min_points", "expected KEY=VALUE")):
        code, stdout, stderr = run_cli(["eval", str(labelled), "--set", bad], capsys)
        assert code == 2 and stdout == "" and why in stderr


def test_folder_without_labelled_scenes_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.mp4").write_bytes(b"")
    code, stdout, stderr = run_cli(["eval", str(tmp_path)], capsys)
    assert code == 2 and stdout == ""
    assert str(tmp_path) in stderr and "truth.json" in stderr

    code, _, stderr = run_cli(["eval", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "nowhere" in stderr


def test_unreadable_scene_is_reported_and_the_rest_scored(
    labelled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    first = sorted(labelled.glob("scene_*.mp4"))[0]
    for src in labelled.glob(f"{first.stem}.*"):
        (folder / src.name).symlink_to(src.resolve())
    (folder / "broken.mp4").write_text("not a video\n")
    (folder / "broken.truth.json").write_text(json.dumps(truth()))
    out = folder / "eval.json"

    code, stdout, stderr = run_cli(["eval", str(folder), "--json", str(out)], capsys)

    assert code == 3
    assert "broken" in stderr
    report = json.loads(out.read_text())
    assert report["totals"]["scenes"] == 1
    assert "error" in report["scenes"][0] and "broken.mp4" in report["scenes"][0]["error"]
    assert "ERROR" in stdout
    assert not math.isnan(report["totals"]["duration_s"])
