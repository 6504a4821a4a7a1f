"""``fallwatch analyze``: the JSON contract, exit statuses, damaged input, original clips."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest
import yaml
from fixtures_cli import (
    CONTRACT_KEYS,
    EVENT_KEYS,
    ORIGIN_KEYS,
    analyze_json,
    run_cli,
    run_console,
    synth_scenes,
    video_packets,
)

from pipelines.clips import ClipCollector, PacketRing, clip_suffix, write_original_clip

Videos = Callable[..., Path]
NEGATIVES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "negatives"
FOLDER_NAME = re.compile(r"^(?P<camera>.+)_(?P<utc>\d{8}T\d{6}\.\d{3}Z)_(?P<short>[0-9a-f]{8})$")


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return synth_scenes(tmp_path_factory)


@pytest.fixture(scope="module")
def analysed(scenes: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Each generated scene with analyze's JSON for it (camera file NAME.yaml)."""
    from pipelines.analyze import analyze_file
    from pipelines.camera import load_camera

    return [(v, analyze_file(v, load_camera(v.with_suffix(".yaml"))).doc) for v in scenes]


@pytest.fixture(scope="module")
def scene(analysed: list[tuple[Path, dict[str, Any]]]) -> Path:
    """A generated scene in which the detector finds at least one event (by content)."""
    for video, doc in analysed:
        if doc["events"]:
            return video
    raise AssertionError(f"the detector found no event in any of {[v for v, _ in analysed]}")


@pytest.fixture(scope="module")
def early_scene(analysed: list[tuple[Path, dict[str, Any]]]) -> Path:
    """The scene with events whose last event ends earliest (to damage the video after it)."""
    with_events = [(max(e["end_s"] for e in doc["events"]), v) for v, doc in analysed
                   if doc["events"]]
    assert with_events, "the detector found no event in any generated scene"
    return min(with_events)[1]


def camera_of(video: Path) -> Path:
    return video.with_suffix(".yaml")


def check_contract(doc: dict[str, Any], video: Path, *, frames: int | None = None) -> None:
    """What a user's script relies on: the keys, their types and sane values."""
    assert CONTRACT_KEYS <= set(doc)
    assert doc["source"] == str(video)
    assert isinstance(doc["complete"], bool)
    with av.open(str(video)) as src:
        stream = src.streams.video[0]
        assert (doc["width"], doc["height"]) == (stream.width, stream.height)
        assert doc["fps"] == pytest.approx(float(stream.average_rate or 0))
    if frames is not None:
        assert doc["frames"] == frames
    duration = doc["frames"] / doc["fps"]
    for ev in doc["events"]:
        assert set(ev) >= EVENT_KEYS
        assert set(ev["origin"]) >= ORIGIN_KEYS
        assert 0.0 <= ev["start_s"] <= ev["end_s"] <= duration
        assert 0.0 <= ev["score"] <= 1.0
        assert len(ev["trajectory"]) >= 3
        times = [p[0] for p in ev["trajectory"]]
        assert times == sorted(times)
        assert times[0] == ev["start_s"] and times[-1] == ev["end_s"]
        for _, x, y in ev["trajectory"]:
            assert -1 <= x <= doc["width"] and -1 <= y <= doc["height"]
        assert ev["origin"]["t_s"] <= ev["start_s"]
        assert ev["origin"]["floor"] is None or isinstance(ev["origin"]["floor"], int)


# -- the JSON ----------------------------------------------------------------------------------


def test_json_on_stdout_has_the_contract_keys_and_sane_values(
    scene: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = analyze_json(scene, capsys, "--camera", str(camera_of(scene)))

    check_contract(doc, scene, frames=150)  # 6 s at 25 fps, every frame decoded
    assert doc["complete"] is True
    assert doc["events"], "the fixture picked a scene with events"
    assert doc["camera"] == scene.stem  # the id in NAME.yaml
    assert all(ev["clip"] is None for ev in doc["events"])  # no --clips-dir
    assert all(isinstance(ev["origin"]["floor"], int) for ev in doc["events"])  # facade given
    assert [ev["start_s"] for ev in doc["events"]] == sorted(ev["start_s"] for ev in doc["events"])


def test_console_script_writes_only_json_to_stdout(scene: Path) -> None:
    proc = run_console(["analyze", str(scene), "--camera", str(camera_of(scene))])

    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # nothing else on stdout
    check_contract(doc, scene, frames=150)


def test_events_json_holds_the_same_document_and_stdout_stays_empty(
    scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "events.json"
    code, stdout, stderr = run_cli(
        ["analyze", str(scene), "--camera", str(camera_of(scene)), "--events-json", str(out)],
        capsys,
    )

    assert code == 0, stderr
    assert stdout == ""
    from_file = json.loads(out.read_text())
    check_contract(from_file, scene, frames=150)
    from_stdout = analyze_json(scene, capsys, "--camera", str(camera_of(scene)))
    assert from_file == from_stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.json"]  # no temp file left


def test_without_camera_file_the_id_is_the_file_name_and_floors_are_null(
    scene: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = analyze_json(scene, capsys)

    check_contract(doc, scene, frames=150)
    assert doc["camera"] == scene.stem
    assert all(ev["origin"]["floor"] is None for ev in doc["events"])


def test_utc_times_come_from_start_time_else_creation_time_else_mtime(
    scene: Path, videos: Videos, capsys: pytest.CaptureFixture[str]
) -> None:
    given = analyze_json(scene, capsys, "--camera", str(camera_of(scene)),
                         "--start-time", "2026-03-04T07:06:05.250+02:00")
    assert given["start_time_source"] == "--start-time"
    assert given["start_time_utc"] == "2026-03-04T05:06:05.250Z"
    ev = given["events"][0]
    start = datetime(2026, 3, 4, 5, 6, 5, 250_000, tzinfo=UTC).timestamp()
    parsed = datetime.fromisoformat(ev["start_utc"].replace("Z", "+00:00")).timestamp()
    assert parsed == pytest.approx(start + ev["start_s"], abs=0.001)

    with av.open(str(scene)) as src:
        creation = src.metadata["creation_time"]
    tagged = analyze_json(scene, capsys)
    assert tagged["start_time_source"] == "creation_time"
    assert tagged["start_time_utc"][:19] == creation[:19]

    plain = videos("clip.mkv")  # no creation_time tag
    untagged = analyze_json(plain, capsys)
    assert untagged["start_time_source"] == "file mtime"
    mtime = datetime.fromtimestamp(plain.stat().st_mtime, UTC)
    assert untagged["start_time_utc"][:19] == mtime.strftime("%Y-%m-%dT%H:%M:%S")


# -- unreadable input: exit 2, a message naming the file, no JSON ------------------------------


def _text_mp4(tmp: Path) -> list[str]:
    path = tmp / "notes.mp4"
    path.write_text("camera 3 notes: nothing to see here\n")
    return [str(path)]


def _missing(tmp: Path) -> list[str]:
    return [str(tmp / "no_such_video.mp4")]


BAD_INPUTS = [
    pytest.param(_missing, "no_such_video.mp4", "no such file", id="missing-file"),
    pytest.param(_text_mp4, "notes.mp4", "text file", id="text-file-named-mp4"),
]


@pytest.mark.parametrize(("make", "named", "says"), BAD_INPUTS)
def test_unreadable_input_exits_2_naming_the_file_and_writes_no_json(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], list[str]],
    named: str,
    says: str,
) -> None:
    out = tmp_path / "events.json"
    code, stdout, stderr = run_cli(["analyze", *make(tmp_path), "--events-json", str(out)], capsys)

    assert code == 2
    assert stdout == "" and not out.exists()
    assert len(stderr.strip().splitlines()) == 1
    assert named in stderr and says in stderr


def test_mp4_cut_before_its_index_exits_2(
    videos: Videos,
    truncate: Callable[[Path, float], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cut = truncate(videos("recording.mp4", faststart=False), 0.6)  # moov would come last
    out = tmp_path / "events.json"

    code, stdout, stderr = run_cli(["analyze", str(cut), "--events-json", str(out)], capsys)

    assert code == 2
    assert stdout == "" and not out.exists()
    assert len(stderr.strip().splitlines()) == 1
    assert cut.name in stderr and "moov" in stderr


def test_camera_file_with_an_unknown_key_exits_2_naming_file_and_key(
    scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    camera = tmp_path / "cam.yaml"
    camera.write_text(camera_of(scene).read_text() + "flor_height: 3\n")

    code, stdout, stderr = run_cli(["analyze", str(scene), "--camera", str(camera)], capsys)

    assert code == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1
    assert "cam.yaml" in stderr and "flor_height" in stderr


def test_balcony_with_its_ends_swapped_exits_2_naming_the_key(
    scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(camera_of(scene).read_text())
    data["facade"]["balconies"] = [{"x_m": [14.0, 10.0], "z_m": [3.0, 40.0], "depth_m": 1.2}]
    camera = tmp_path / "cam.yaml"
    camera.write_text(yaml.safe_dump(data))

    code, stdout, stderr = run_cli(["analyze", str(scene), "--camera", str(camera)], capsys)

    assert code == 2 and stdout == ""
    assert "cam.yaml" in stderr and "facade.balconies.0.x_m" in stderr and "[low, high]" in stderr


def test_bad_start_time_exits_2_naming_the_value(
    scene: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, stderr = run_cli(["analyze", str(scene), "--start-time", "yesterday"], capsys)

    assert code == 2 and stdout == ""
    assert "yesterday" in stderr and "ISO 8601" in stderr


def test_clips_dir_and_no_clips_together_is_bad_usage(
    scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, _ = run_cli(
        ["analyze", str(scene), "--clips-dir", str(tmp_path), "--no-clips"], capsys
    )
    assert code == 2 and stdout == ""


# -- damaged input: exit 3, the events found so far, complete false ----------------------------


def _mp4_mdat(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        if data[offset + 4 : offset + 8] == b"mdat":
            return offset, size
        offset += size
    raise AssertionError(f"{path} has no mdat")


def test_scene_with_zeroed_bytes_exits_3_with_the_events_found_before(
    early_scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = early_scene
    intact = analyze_json(scene, capsys, "--camera", str(camera_of(scene)))
    data = bytearray(scene.read_bytes())
    mdat, size = _mp4_mdat(scene)
    start = mdat + int(size * 0.85)  # late in the video, after the events
    data[start : start + 40_000] = bytes(40_000)
    damaged = tmp_path / scene.name
    damaged.write_bytes(bytes(data))
    out = tmp_path / "events.json"

    code, stdout, stderr = run_cli(
        ["analyze", str(damaged), "--camera", str(camera_of(scene)), "--events-json", str(out)],
        capsys,
    )

    assert code == 3
    assert stdout == ""
    doc = json.loads(out.read_text())
    check_contract(doc, damaged)
    assert doc["complete"] is False
    assert damaged.name in doc["damage"]["message"]
    assert "incomplete" in stderr
    first_bad = doc["damage"]["first_bad_t_s"]
    assert 0 < first_bad < 6.0
    assert doc["frames"] < intact["frames"]
    # Events that had ended well before the damage are found just as in the intact video.
    # (Ended: no frame near or after the damage could have changed them.)
    def ended(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [ev for ev in events if ev["end_s"] < first_bad - 1.0]

    assert ended(doc["events"]) == ended(intact["events"])


@pytest.mark.parametrize("container", ["mp4", "ts"])
def test_video_broken_midway_exits_3_and_still_writes_json(
    videos: Videos,
    zero_bytes: Callable[[Path, int, int], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    container: str,
) -> None:
    if container == "mp4":
        whole = videos("clip.mp4")
        mdat, size = _mp4_mdat(whole)
        broken = zero_bytes(whole, mdat + size // 2, 30_000)  # zeroed bytes mid-stream
    else:
        whole = videos("clip.ts", container_format="mpegts")
        broken = tmp_path / "half.ts"
        data = whole.read_bytes()
        broken.write_bytes(data[: len(data) // 2 + 101])  # cut in half, inside a picture
    out = tmp_path / "events.json"

    code, stdout, _ = run_cli(["analyze", str(broken), "--events-json", str(out)], capsys)

    assert code == 3 and stdout == ""
    doc = json.loads(out.read_text())
    check_contract(doc, broken)
    assert doc["complete"] is False
    assert 0 < doc["frames"] < 100  # the intact frames before the damage (4 s at 25 fps)
    assert broken.name in doc["damage"]["message"]


# -- original clips ----------------------------------------------------------------------------


def test_clips_dir_writes_one_folder_per_event_with_the_untouched_packets(
    scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clips = tmp_path / "evidence"
    doc = analyze_json(scene, capsys, "--camera", str(camera_of(scene)), "--clips-dir", str(clips))

    check_contract(doc, scene, frames=150)
    source = video_packets(scene)
    source_bytes = [p[0] for p in source]
    folders = sorted(clips.iterdir())
    assert len(folders) == len(doc["events"])
    assert not list(clips.rglob("*.part"))
    assert [f.name for f in folders] == sorted(f.name for f in folders)
    for ev in doc["events"]:
        clip = Path(ev["clip"])
        assert clip.name == "original.mp4" and clip.is_file()
        folder = clip.parent
        assert folder.parent == clips
        name = FOLDER_NAME.match(folder.name)
        assert name is not None, folder.name
        assert name["camera"] == doc["camera"]
        utc = ev["start_utc"].replace("-", "").replace(":", "")
        assert name["utc"] == utc
        assert json.loads((folder / "event.json").read_text()) == ev

        packets = [p[0] for p in video_packets(clip)]
        first = source_bytes.index(packets[0])
        assert source_bytes[first : first + len(packets)] == packets  # bit-identical, in order
        assert source[first][1], "the clip starts at a keyframe"
        t_first, t_last = source[first][2], source[first + len(packets) - 1][2]
        # pre-roll: the keyframe at or before (first sighting - 5 s)
        keys_before = [t for _, key, t in source if key and t <= max(ev["start_s"] - 5.0, 0.0)]
        assert t_first == pytest.approx(max(keys_before))
        # post-roll: up to last sighting + 3 s (or the end of the video)
        assert t_last == pytest.approx(min(ev["end_s"] + 3.0, source[-1][2]), abs=0.021)


def test_no_clips_gives_null_clip_and_writes_nothing(
    scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    doc = analyze_json(scene, capsys, "--camera", str(camera_of(scene)), "--no-clips")

    assert doc["events"]
    assert all(ev["clip"] is None for ev in doc["events"])
    assert list(tmp_path.iterdir()) == []


def _collect(path: Path, spans: list[tuple[str, float, float]], keep_s: float,
             at_t: float) -> dict[str, list[Any]]:
    """Feed every packet of ``path`` through a ring; start each clip (key, from, to) once
    the frame at ``at_t`` has been decoded, as analyze does when an event comes in."""
    from pipelines.sources import open_video

    done: dict[str, list[Any]] = {}
    with open_video(path) as source:
        ring = PacketRing(keep_s, source.info.time_base, source.info.fps)
        collector = ClipCollector(ring)
        started = False
        for frame in source.frames(on_packet=collector.push):
            ring.align(frame.pts, frame.t_s)
            if not started and frame.t_s >= at_t:
                for key, t0, t1 in spans:
                    collector.start(key, t0, t1)
                started = True
            done.update(collector.ready())
        done.update(collector.flush())
    return done


def test_ring_and_collector_cut_pre_and_post_roll_at_keyframes(
    videos: Videos, tmp_path: Path
) -> None:
    # 20 s of H.264 with B-frames, a keyframe every second; an event seen 9.3-10.1 s,
    # reported at 10.5 s: the clip runs from the keyframe at 4 s to the last packet
    # decoded by 13.1 s.
    path = videos("long.mp4", seconds=20)
    clips = _collect(path, [("ev", 9.3 - 5.0, 10.1 + 3.0)], keep_s=8.0, at_t=10.5)
    clip = tmp_path / "original.mp4"
    with av.open(str(path)) as src:
        write_original_clip(clips["ev"], src.streams.video[0], clip)

    source = video_packets(path)
    packets = video_packets(clip)
    first = [p[0] for p in source].index(packets[0][0])
    assert [p[0] for p in source[first : first + len(packets)]] == [p[0] for p in packets]
    assert source[first][1] and source[first][2] == pytest.approx(4.0)
    shown = sorted(p[2] for p in packets)
    assert shown[0] == pytest.approx(4.0)
    assert 13.1 <= shown[-1] <= 13.1 + 4 / 25  # all frames to 13.1 s, B-frame refs beyond
    assert [f.name for f in tmp_path.iterdir()] == ["original.mp4"]  # no .part left
    with av.open(str(clip)) as out:  # the clip plays: every frame decodes
        assert sum(1 for _ in out.decode(video=0)) == len(packets)


def test_mpegts_clip_stays_mpegts_with_identical_packets(videos: Videos, tmp_path: Path) -> None:
    path = videos("clip.ts", container_format="mpegts")
    clips = _collect(path, [("ev", 1.5, 2.5)], keep_s=8.0, at_t=3.0)
    with av.open(str(path)) as src:
        assert clip_suffix(src.format.name, src.streams.video[0].codec_context.name) == ".ts"
        clip = write_original_clip(clips["ev"], src.streams.video[0], tmp_path / "original.ts")

    source = [p[0] for p in video_packets(path)]
    packets = [p[0] for p in video_packets(clip)]
    first = source.index(packets[0])
    assert source[first : first + len(packets)] == packets


def test_cinepak_footage_goes_into_quicktime_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "tree.avi"
    shutil.copy(NEGATIVES / "opencv_tree.avi", path)
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        suffix = clip_suffix(src.format.name, stream.codec_context.name)
        assert suffix == ".mov"  # neither FFmpeg's MP4 nor its Matroska muxer takes Cinepak
    clips = _collect(path, [("ev", 0.0, 100.0)], keep_s=60.0, at_t=0.0)
    with av.open(str(path)) as src:
        clip = write_original_clip(
            clips["ev"], src.streams.video[0], tmp_path / f"original{suffix}"
        )

    assert [p[0] for p in video_packets(clip)] == [p[0] for p in video_packets(path)]


def test_ring_keeps_only_keep_s_seconds_from_a_keyframe() -> None:
    ring = PacketRing(2.0, Fraction(1, 25), 25.0)
    for i in range(250):  # 10 s, keyframe every 25 packets
        packet = av.Packet(bytes([i % 256]) * 10)
        packet.pts = packet.dts = i
        packet.is_keyframe = i % 25 == 0
        ring.push(ring.make(packet))
    held = ring.since(0.0)
    assert held[0].keyframe
    assert held[0].t_s == pytest.approx(7.0)  # the keyframe at or before 9.96 - 2 s
    assert len(ring) == 75
    assert ring.since(8.5)[0].t_s == pytest.approx(8.0)
