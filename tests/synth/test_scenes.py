"""Whole scenes through the command line: files, determinism, truth and camera file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines.camera import load_camera
from pipelines.cli import main
from pipelines.synth.scene import SynthOptions, sample_scene
from tests.synth.conftest import decoded_hashes

ARGS = ["--duration", "2", "--distractor-duration", "2", "--resolutions", "720p", "--fps", "25"]


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scenes")
    assert main(["synth", str(out), "--count", "3", "--seed", "11", *ARGS]) == 0
    return out


def test_each_scene_has_video_truth_and_camera_file(scenes: Path) -> None:
    names = sorted(p.stem for p in scenes.glob("*.mp4"))
    assert names == ["scene_11_0000", "scene_11_0001", "scene_11_0002"]
    assert not list(scenes.glob("*.part")) and not list(scenes.glob(".*"))
    for n in names:
        truth = json.loads((scenes / f"{n}.truth.json").read_text())
        assert truth["video"] == f"{n}.mp4"
        assert (truth["width"], truth["height"], truth["fps"], truth["frames"]) == (
            1280,
            720,
            25.0,
            50,
        )
        assert len(decoded_hashes(scenes / f"{n}.mp4")) == truth["frames"]
        for o in truth["objects"]:
            assert set(o) >= {"kind", "release_frame", "origin_floor", "track"}
            for row in o["track"]:
                assert len(row) == 4 and 0 <= row[1] < 1280 and 0 <= row[2] < 720 and row[3] > 0
                assert row[0] >= o["release_frame"]
            frames = [r[0] for r in o["track"]]
            assert frames == sorted(set(frames))
        for d in truth["distractors"]:
            assert set(d) >= {"kind", "first_frame", "last_frame"}
            assert 0 <= d["first_frame"] <= d["last_frame"] < truth["frames"]
        cam = load_camera(scenes / f"{n}.yaml")
        assert cam.id == n and cam.facade is not None


def test_same_seed_gives_identical_decoded_frames(scenes: Path, tmp_path: Path) -> None:
    assert (
        main(["synth", str(tmp_path), "--count", "1", "--seed", "11", "--start", "1", *ARGS]) == 0
    )
    again = decoded_hashes(tmp_path / "scene_11_0001.mp4")
    assert again == decoded_hashes(scenes / "scene_11_0001.mp4")
    assert again != decoded_hashes(scenes / "scene_11_0002.mp4")


def test_other_seed_gives_other_frames(scenes: Path, tmp_path: Path) -> None:
    assert main(["synth", str(tmp_path), "--count", "1", "--seed", "12", *ARGS]) == 0
    assert decoded_hashes(tmp_path / "scene_12_0000.mp4") != decoded_hashes(
        scenes / "scene_11_0000.mp4"
    )


@pytest.mark.parametrize("index", range(6))
def test_calibration_maps_a_known_window_to_its_floor(tmp_path: Path, index: int) -> None:
    opts = SynthOptions(resolutions=(("720p", 1.0),), duration_s=1.0, distractor_duration_s=1.0)
    spec = sample_scene(21, index, opts, "c")
    from pipelines.synth.writer import facade_points

    cal = facade_points(spec, np.random.default_rng(0)).calibration()
    b, cam = spec.building, spec.camera
    checked = 0
    for fi in range(b.floors):
        for ci in range(b.cols):
            x, z = b.window_centre(fi, ci)
            uv, depth = cam.project(np.array([[x, 0.0, z]]))
            if depth[0] <= 0 or not (0 <= uv[0, 0] < cam.width and 0 <= uv[0, 1] < cam.height):
                continue
            assert int(cal.floor_at(uv)[0]) == fi + 1, f"window on floor {fi + 1} at {uv[0]}"
            checked += 1
    assert checked >= 10


def test_camera_file_marks_each_column_of_balconies_where_objects_leave_from_the_rail() -> None:
    import yaml

    from pipelines.camera import CameraFile, dump_camera, parse_camera
    from pipelines.synth.scene import BALCONY_RAIL_M
    from pipelines.synth.writer import facade_points

    opts = SynthOptions(resolutions=(("720p", 1.0),), duration_s=1.0, distractor_duration_s=1.0)
    seen = 0
    for index in range(12):
        spec = sample_scene(21, index, opts, "c")
        b = spec.building
        facade = facade_points(spec, np.random.default_rng(0))
        # through the YAML, as analyze reads it
        cal = parse_camera(yaml.safe_load(dump_camera(
            CameraFile(id="c", facade=facade))), "c.yaml").calibration()
        assert cal is not None
        assert len(cal.balconies) == int(b.balcony.any(axis=0).sum())
        for fi in range(b.floors):
            for ci in range(b.cols):
                x, z = b.window_centre(fi, ci)
                depth = cal.balcony_depth(x, z)
                if b.balcony[fi, ci]:
                    assert depth is not None and BALCONY_RAIL_M[0] <= depth <= BALCONY_RAIL_M[1]
                    seen += 1
                else:
                    assert depth is None, f"no balcony at floor {fi + 1}, column {ci}"
    assert seen > 0


def test_hard_distractors_join_the_scene_and_its_truth_and_change_nothing_else(
    scenes: Path, tmp_path: Path
) -> None:
    """``--hard N``: N more distractors of the kinds that fall like objects, in the frames
    and in the truth file; the scene's own objects and distractors stay as they were."""
    args = ["--count", "1", "--seed", "11", "--start", "1", *ARGS]
    assert main(["synth", str(tmp_path), *args, "--hard", "12"]) == 0
    plain = json.loads((scenes / "scene_11_0001.truth.json").read_text())
    hard = json.loads((tmp_path / "scene_11_0001.truth.json").read_text())
    assert hard["objects"] == plain["objects"]
    n = len(plain["distractors"])
    assert hard["distractors"][:n] == plain["distractors"]
    extra = hard["distractors"][n:]
    assert extra and {d["kind"] for d in extra} <= {"bird", "leaf", "towel", "insect"}
    assert decoded_hashes(tmp_path / "scene_11_0001.mp4") != decoded_hashes(
        scenes / "scene_11_0001.mp4"
    )


def test_bad_options_exit_2(tmp_path: Path) -> None:
    assert main(["synth", str(tmp_path), "--hard", "-1"]) == 2
    assert main(["synth", str(tmp_path), "--night-share", "1.5"]) == 2
    assert main(["synth", str(tmp_path), "--count", "0"]) == 2
    assert main(["synth", str(tmp_path), "--resolutions", "8k"]) == 2
    assert not list(tmp_path.iterdir())


def test_same_seed_gives_identical_decoded_frames_at_1080p(tmp_path: Path) -> None:
    args = ["--duration", "1.2", "--distractor-share", "0", "--resolutions", "1080p", "--fps", "25"]
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["synth", str(a), "--count", "1", "--seed", "7", *args]) == 0
    assert main(["synth", str(b), "--count", "1", "--seed", "7", *args]) == 0
    assert decoded_hashes(a / "scene_7_0000.mp4") == decoded_hashes(b / "scene_7_0000.mp4")
