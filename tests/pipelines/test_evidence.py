"""Evidence folders: bit-identical original clip with pre/post-roll, annotated clip, snapshot,
signed manifest, ``fallwatch verify`` naming altered files, crash safety, odd codecs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fixtures_cli import run_cli, synth_scenes, video_packets

from detector.events import Event, Origin
from pipelines.evidence import EvidenceResult, EvidenceWriter, list_event_folders, verify_folder
from pipelines.evidence.manifest import check_signature
from pipelines.sources import open_video

Videos = Callable[..., Path]
NEGATIVES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "negatives"
FOLDER_NAME = re.compile(r"^(?P<camera>.+)_(?P<utc>\d{8}T\d{6}\.\d{3}Z)_(?P<short>[0-9a-f]{8})$")
FILES = {"original.mp4", "annotated.mp4", "snapshot.jpg", "event.json", "manifest.json"}
START = "2026-03-04T07:06:05.250+02:00"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """FALLWATCH_HOME for this module: the signing key is made here, not in ~/.fallwatch."""
    path = tmp_path_factory.mktemp("fallwatch_home")
    old = os.environ.get("FALLWATCH_HOME")
    os.environ["FALLWATCH_HOME"] = str(path)
    yield path
    if old is None:
        os.environ.pop("FALLWATCH_HOME", None)
    else:
        os.environ["FALLWATCH_HOME"] = old


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 720p scene in which the detector finds at least one event."""
    from pipelines.analyze import analyze_file
    from pipelines.camera import load_camera

    for video in synth_scenes(tmp_path_factory):
        if analyze_file(video, load_camera(video.with_suffix(".yaml"))).doc["events"]:
            return video
    raise AssertionError("the detector found no event in any generated scene")


@pytest.fixture(scope="module")
def analysed(
    scene: Path, home: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    """``fallwatch analyze SCENE --camera --clips-dir DIR --start-time`` (in process):
    its JSON and DIR."""
    clips = tmp_path_factory.mktemp("evidence")
    capsys_free = _run_fallwatch(["analyze", str(scene), "--camera",
                                  str(scene.with_suffix(".yaml")), "--clips-dir", str(clips),
                                  "--start-time", START], home)
    assert capsys_free.returncode == 0, capsys_free.stderr
    doc: dict[str, Any] = json.loads(capsys_free.stdout)
    assert doc["events"]
    return doc, clips


def _run_fallwatch(argv: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("fallwatch")
    env = {**os.environ, "FALLWATCH_HOME": str(home)}
    return subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=600,
                          env=env)


def _folders(doc: dict[str, Any]) -> list[Path]:
    return [Path(ev["clip"]).parent for ev in doc["events"]]


def _manifest(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return doc


def _decode_bgr(path: Path) -> list[tuple[float, np.ndarray]]:
    """``(seconds, (H, W, 3) uint8 BGR)`` of every picture of a video file."""
    with av.open(str(path)) as src:
        return [(float(f.time or 0.0), f.to_ndarray(format="bgr24"))
                for f in src.decode(video=0)]


# -- the folder from `analyze --clips-dir` -----------------------------------------------------


def test_each_event_gets_one_complete_folder_named_by_camera_and_utc(
    analysed: tuple[dict[str, Any], Path],
) -> None:
    doc, clips = analysed
    folders = _folders(doc)
    assert sorted(p.name for p in clips.iterdir()) == sorted(f.name for f in folders)
    assert list_event_folders(clips) == sorted(folders)
    for ev, folder in zip(doc["events"], folders, strict=True):
        assert {p.name for p in folder.iterdir()} == FILES  # nothing .part / .tmp left
        name = FOLDER_NAME.match(folder.name)
        assert name is not None, folder.name
        assert name["camera"] == doc["camera"]
        assert name["utc"] == ev["start_utc"].replace("-", "").replace(":", "")
        assert Path(ev["clip"]).name == "original.mp4"
        assert json.loads((folder / "event.json").read_text()) == ev


def test_original_clip_is_bit_identical_and_covers_pre_and_post_roll(
    analysed: tuple[dict[str, Any], Path], scene: Path
) -> None:
    doc, _ = analysed
    source = video_packets(scene)
    source_bytes = [p[0] for p in source]
    for ev in doc["events"]:
        clip = Path(ev["clip"])
        packets = [p[0] for p in video_packets(clip)]
        first = source_bytes.index(packets[0])
        assert source_bytes[first : first + len(packets)] == packets  # same bytes, same order
        assert source[first][1], "the clip starts at a keyframe"
        keys = [t for _, key, t in source if key and t <= max(ev["start_s"] - 5.0, 0.0)]
        assert source[first][2] == pytest.approx(max(keys))  # keyframe at/before start - 5 s
        last = source[first + len(packets) - 1][2]
        assert last >= min(ev["end_s"] + 3.0, source[-1][2]) - 0.021  # end + 3 s (or the end)
        span = _manifest(clip.parent)["clip"]["span_s"]
        assert span[0] <= max(ev["start_s"] - 5.0, 0.0)
        assert span[1] >= min(ev["end_s"] + 3.0, source[-1][2]) - 0.021


def _top_boxes(path: Path) -> list[bytes]:
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8])
        offset += size if size else len(data)
    return boxes


def test_annotated_clip_is_faststart_h264_of_the_same_span_with_the_drawing_burned_in(
    analysed: tuple[dict[str, Any], Path],
) -> None:
    doc, _ = analysed
    ev = doc["events"][0]
    folder = Path(ev["clip"]).parent
    annotated = folder / "annotated.mp4"
    with av.open(str(annotated)) as src:
        stream = src.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
    boxes = _top_boxes(annotated)
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # plays while downloading
    orig = _decode_bgr(Path(ev["clip"]))
    ann = _decode_bgr(annotated)
    assert len(ann) == len(orig)
    assert ann[-1][0] - ann[0][0] == pytest.approx(orig[-1][0] - orig[0][0], abs=0.002)
    # The last sighting's frame: the trajectory is drawn along the path, the header text
    # (camera id, UTC) at the top left, and the picture elsewhere is the camera's.
    span0 = _manifest(folder)["clip"]["span_s"][0]
    t_end = ev["end_s"]
    i = min(range(len(orig)), key=lambda k: abs(orig[k][0] - orig[0][0] + span0 - t_end))
    a, o = ann[i][1].astype(np.int16), orig[i][1].astype(np.int16)
    h, w = o.shape[:2]
    traj = np.asarray(ev["trajectory"])
    mid = traj[len(traj) // 2]
    x, y = int(mid[1]), int(mid[2])
    box = (slice(max(0, y - 3), y + 4), slice(max(0, x - 3), x + 4))
    assert np.abs(a[box] - o[box]).max() > 100  # the path is drawn through the middle point
    assert np.abs(a[: h // 12, : w // 4] - o[: h // 12, : w // 4]).max() > 100  # header text
    far = (slice(h - 40, h), slice(w - 40, w)) if y < h / 2 or x < w / 2 else \
        (slice(0, 40), slice(w - 40, w))
    assert np.abs(a[far] - o[far]).mean() < 8  # re-encoded, otherwise untouched


def test_snapshot_shows_the_object_at_its_first_and_last_sighting_on_one_frame(
    analysed: tuple[dict[str, Any], Path],
) -> None:
    doc, _ = analysed
    ev = doc["events"][0]
    folder = Path(ev["clip"]).parent
    snap = cv2.imread(str(folder / "snapshot.jpg"))
    orig = _decode_bgr(Path(ev["clip"]))
    assert snap is not None and snap.shape == orig[0][1].shape
    span0 = _manifest(folder)["clip"]["span_s"][0]
    times = np.array([t - orig[0][0] + span0 for t, _ in orig])
    before = [k for k in range(len(orig)) if times[k] < ev["start_s"] - 0.02]
    base = orig[before[-1]][1].astype(np.int16)  # the picture before the first sighting
    traj = ev["trajectory"]
    for t, x, y in (traj[0], traj[-1]):
        k = int(np.argmin(np.abs(times - t)))
        cx, cy = round(x), round(y)
        box = (slice(max(0, cy - 2), cy + 3), slice(max(0, cx - 2), cx + 3))
        at_t = orig[k][1].astype(np.int16)[box]
        shown = snap.astype(np.int16)[box]
        # The object's pixels at that time are pasted in: the snapshot looks like the
        # frame of that sighting there, not like the empty background.
        assert np.abs(shown - at_t).mean() < np.abs(shown - base[box]).mean()


def test_manifest_states_event_times_camera_software_model_and_every_hash(
    analysed: tuple[dict[str, Any], Path], scene: Path, home: Path
) -> None:
    doc, _ = analysed
    camera = yaml.safe_load(scene.with_suffix(".yaml").read_text())
    public = _exported_key(home)
    for ev, folder in zip(doc["events"], _folders(doc), strict=True):
        m = _manifest(folder)
        e = m["event"]
        assert (e["id"], e["start_s"], e["end_s"], e["score"]) == \
            (ev["id"], ev["start_s"], ev["end_s"], ev["score"])
        assert e["trajectory"] == ev["trajectory"] and e["origin"] == ev["origin"]
        assert e["utc_source"] == "--start-time"
        t0 = datetime(2026, 3, 4, 5, 6, 5, 250_000, tzinfo=UTC).timestamp()
        got = datetime.fromisoformat(e["start_utc"].replace("Z", "+00:00")).timestamp()
        assert got == pytest.approx(t0 + ev["start_s"], abs=0.001)
        assert e["start_utc"] == ev["start_utc"] and e["end_utc"] == ev["end_utc"]
        assert e["stream_start_s"] == pytest.approx(ev["start_s"], abs=0.05)
        assert m["camera"]["id"] == camera["id"]
        cal = m["camera"]["calibration"]
        assert cal["image_points"] == [list(p) for p in camera["facade"]["image_points"]]
        assert cal["floor_height_m"] == camera["facade"]["floor_height_m"]
        assert m["software"]["name"] == "fallwatch" and m["software"]["version"] == doc["version"]
        model = m["model"]  # nulls when physics alone decided, else the classifier's
        assert set(model) == {"name", "sha256"}
        assert (model["name"] is None) == (model["sha256"] is None)
        assert model["sha256"] is None or re.fullmatch(r"[0-9a-f]{64}", model["sha256"])
        assert set(m["files"]) == FILES - {"manifest.json"}
        for name, entry in m["files"].items():
            data = (folder / name).read_bytes()
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
            assert entry["bytes"] == len(data)
        assert check_signature(m, public)  # the site's exported key signed it


# -- verify ------------------------------------------------------------------------------------


def _exported_key(home: Path) -> Ed25519PublicKey:
    proc = _run_fallwatch(["keys", "export"], home)
    assert proc.returncode == 0, proc.stderr
    key = serialization.load_pem_public_key(proc.stdout.encode())
    assert isinstance(key, Ed25519PublicKey)
    return key


def test_verify_passes_on_an_untouched_folder_and_on_the_clips_dir(
    analysed: tuple[dict[str, Any], Path], home: Path, tmp_path: Path
) -> None:
    doc, clips = analysed
    pem = tmp_path / "site.pem"
    assert _run_fallwatch(["keys", "export", "--out", str(pem)], home).returncode == 0
    folder = _folders(doc)[0]
    proc = _run_fallwatch(["verify", str(folder), "--public-key", str(pem)], home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK ")
    proc = _run_fallwatch(["verify", str(clips)], home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("OK ") == len(doc["events"])


@pytest.mark.parametrize("name", sorted(FILES))
def test_one_flipped_byte_in_any_file_fails_verify_and_names_that_file(
    analysed: tuple[dict[str, Any], Path], home: Path, tmp_path: Path, name: str
) -> None:
    doc, _ = analysed
    folder = tmp_path / _folders(doc)[0].name
    shutil.copytree(_folders(doc)[0], folder)
    data = bytearray((folder / name).read_bytes())
    at = len(data) // 2
    data[at] ^= 0x01
    (folder / name).write_bytes(bytes(data))

    proc = _run_fallwatch(["verify", str(folder)], home)

    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = [line for line in proc.stdout.splitlines() if line.startswith("FAILED")]
    assert failed
    named = {line.split(": ", 2)[1] for line in failed}
    assert named == {name}  # that file, and no other
    assert verify_folder(folder).altered == [name]


def test_verify_refuses_another_keys_signature_and_an_added_file(
    analysed: tuple[dict[str, Any], Path], home: Path, tmp_path: Path
) -> None:
    doc, _ = analysed
    other = tmp_path / "other.pem"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    proc = _run_fallwatch(["verify", str(_folders(doc)[0]), "--public-key", str(other)], home)
    assert proc.returncode == 1
    assert "FAILED" in proc.stdout and "manifest.json: signed by key" in proc.stdout

    folder = tmp_path / "copy"
    shutil.copytree(_folders(doc)[0], folder)
    (folder / "note.txt").write_text("added later\n")
    proc = _run_fallwatch(["verify", str(folder)], home)
    assert proc.returncode == 1
    assert "note.txt: is not listed in the manifest" in proc.stdout


def test_key_is_created_once_private_0600_and_export_prints_the_same_public_key(
    tmp_path: Path,
) -> None:
    first = _run_fallwatch(["keys", "export"], tmp_path)
    second = _run_fallwatch(["keys", "export"], tmp_path)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout and "BEGIN PUBLIC KEY" in first.stdout
    assert "PRIVATE" not in first.stdout
    private = tmp_path / "keys" / "evidence_ed25519.pem"
    assert private.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in private.parent.iterdir()] == [private.name]


# -- crash safety ------------------------------------------------------------------------------


def test_killed_mid_write_leaves_only_a_hidden_partial_that_verify_skips(
    scene: Path, home: Path, tmp_path: Path
) -> None:
    clips = tmp_path / "clips"
    exe = Path(sys.executable).with_name("fallwatch")
    env = {**os.environ, "FALLWATCH_HOME": str(home)}
    proc = subprocess.Popen(
        [str(exe), "analyze", str(scene), "--camera", str(scene.with_suffix(".yaml")),
         "--clips-dir", str(clips)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    partial: list[Path] = []
    try:
        deadline = time.monotonic() + 300
        while not partial and proc.poll() is None and time.monotonic() < deadline:
            if clips.is_dir():
                partial = [p for p in clips.iterdir() if p.name.endswith(".partial")
                           and any(p.iterdir())]
            time.sleep(0.005)
        assert partial, "the evidence folder was never seen being written"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    left = sorted(clips.iterdir())
    assert partial[0] in left and partial[0].name.startswith(".")
    complete = list_event_folders(clips)
    # Whatever looks like an event folder is whole (events finished before the kill).
    assert [p for p in left if not p.name.startswith(".")] == complete
    for folder in complete:
        assert verify_folder(folder).ok
    proc2 = _run_fallwatch(["verify", str(partial[0])], home)
    assert proc2.returncode == 1 and "unfinished evidence folder" in proc2.stdout
    proc3 = _run_fallwatch(["verify", str(clips)], home)
    assert f"skipped {partial[0]}" in proc3.stdout
    assert proc3.returncode == (0 if complete else 2)


# -- the writer on its own: codecs that MP4 / Matroska handle differently -----------------------


def _drive(path: Path, writer_kw: dict[str, Any], event: Event, report_at: float,
           out: Path) -> tuple[EvidenceResult, float]:
    """Feed ``path`` through an EvidenceWriter as a live worker does; report ``event``
    when the frame at ``report_at`` s is decoded. Returns the result and the
    ``time.monotonic()`` at which the last frame was fed."""
    results: list[EvidenceResult] = []
    with av.open(str(path)) as tpl, open_video(path) as source:
        info = source.info
        writer = EvidenceWriter(
            out, "cam-7", tpl.streams.video[0], fps=info.fps,
            container_format=info.format_name,
            start_utc=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), utc_source="test",
            on_complete=results.append, **writer_kw)
        reported = False
        for frame in source.frames(on_packet=writer.on_packet):
            writer.align(frame.pts, frame.t_s)
            if not reported and frame.t_s >= report_at:
                writer.add_event(event, None)
                reported = True
        fed = time.monotonic()
        done = writer.close(timeout=120)
        assert writer.pending == 0
    assert len(done) == 1 and results == done
    return done[0], fed


def _event(t0: float, t1: float, n: int = 10) -> Event:
    t = np.linspace(t0, t1, n)
    traj = np.column_stack([t, 100 + 10 * (t - t0), 40 + 60 * (t - t0) ** 2 + 20 * (t - t0)])
    return Event("ev-1", t0, t1, 0.9, traj, Origin(t0 - 0.1, 100.0, 38.0, None), n_points=n)


def _check_original(result: EvidenceResult, source: Path, start: float, end: float) -> None:
    assert result.ok, result.error
    assert result.folder is not None and result.clip is not None
    src = video_packets(source)
    src_bytes = [p[0] for p in src]
    clip = [p[0] for p in video_packets(result.clip)]
    first = src_bytes.index(clip[0])
    assert src_bytes[first : first + len(clip)] == clip  # bit-identical
    assert src[first][1]
    keys = [t for _, key, t in src if key and t <= start]
    assert src[first][2] == pytest.approx(max(keys))  # the keyframe at or before start
    after = first + len(clip)  # post-roll: every picture up to ``end`` is inside
    assert after == len(src) or src[after][2] > end
    assert max(p[2] for p in src[first:after]) <= end
    assert verify_folder(result.folder).ok


def test_mpeg4_part2_source_gets_a_bit_identical_original_clip_and_a_full_folder(
    videos: Videos, home: Path, tmp_path: Path
) -> None:
    path = videos("dvr.avi", codec="mpeg4", seconds=8)
    sha = hashlib.sha256(b"weights").hexdigest()
    result, fed = _drive(path, {"preroll_s": 2.0, "postroll_s": 1.0, "keep_s": 6.0,
                                "model_name": "track-cnn-v1", "model_sha256": sha},
                         _event(3.0, 4.0), 4.5, tmp_path)

    assert result.clip is not None and result.clip.name == "original.mp4"
    with av.open(str(result.clip)) as clip:
        assert clip.streams.video[0].codec_context.name == "mpeg4"
    _check_original(result, path, 3.0 - 2.0, 4.0 + 1.0)
    assert {p.name for p in result.folder.iterdir()} == FILES  # type: ignore[union-attr]
    # Finished once the post-roll had passed, while the stream was still being fed.
    assert result.ready_at < fed
    manifest = _manifest(result.folder)  # type: ignore[arg-type]
    assert manifest["model"] == {"name": "track-cnn-v1", "sha256": sha}
    assert manifest["event"]["utc_source"] == "test"
    assert manifest["event"]["start_utc"] == "2026-01-02T03:04:08.000Z"  # start_utc + 3 s
    assert manifest["source"]["codec"] == "mpeg4"
    assert manifest["clip"]["before_first_sighting_s"] >= 2.0
    assert manifest["clip"]["after_last_sighting_s"] >= 1.0 - 0.04  # the last frame's start


def test_cinepak_source_gets_a_bit_identical_original_clip(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "tree.avi"
    shutil.copy(NEGATIVES / "opencv_tree.avi", path)
    result, _ = _drive(path, {"preroll_s": 2.0, "postroll_s": 2.0, "keep_s": 30.0},
                       _event(10.0, 12.0), 13.0, tmp_path / "clips")

    assert result.clip is not None and result.clip.suffix == ".mov"  # MP4 and mkv refuse it
    _check_original(result, path, 10.0 - 2.0, 12.0 + 2.0)
    assert (result.clip.parent / "annotated.mp4").is_file()
    assert (result.clip.parent / "snapshot.jpg").is_file()


def test_in_process_run_cli_keeps_stdout_json_only(
    scene: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clips = tmp_path / "c"
    code, out, err = run_cli(["analyze", str(scene), "--clips-dir", str(clips),
                              "--preroll", "1", "--postroll", "0.5"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    for ev in doc["events"]:
        span = _manifest(Path(ev["clip"]).parent)["clip"]
        assert (span["preroll_s"], span["postroll_s"]) == (1.0, 0.5)
        assert span["span_s"][0] <= max(ev["start_s"] - 1.0, 0.0)
        assert span["span_s"][1] >= ev["end_s"] + 0.5 - 0.021


def test_verify_names_a_deleted_file_and_refuses_a_folder_without_manifest(
    analysed: tuple[dict[str, Any], Path], home: Path, tmp_path: Path
) -> None:
    doc, _ = analysed
    folder = tmp_path / "copy"
    shutil.copytree(_folders(doc)[0], folder)
    (folder / "snapshot.jpg").unlink()
    proc = _run_fallwatch(["verify", str(folder)], home)
    assert proc.returncode == 1
    assert "snapshot.jpg: is missing" in proc.stdout

    empty = tmp_path / "empty"
    empty.mkdir()
    proc = _run_fallwatch(["verify", str(empty)], home)
    assert proc.returncode == 2 and "no manifest.json" in proc.stderr
    proc = _run_fallwatch(["verify", str(tmp_path / "nowhere")], home)
    assert proc.returncode == 2 and "no such folder" in proc.stderr


def test_packets_without_timestamps_in_a_stamped_stream_still_make_a_whole_clip(
    videos: Videos, tmp_path: Path
) -> None:
    # RTSP can deliver its first picture without a timestamp; one more goes missing midway.
    # (A camera stream without B-frames: there the missing times can be told.)
    from pipelines.evidence import PacketRing, write_original_clip

    path = videos("no_bframes.mp4", codec_options={"bf": "0"})
    ring = PacketRing(60.0, Fraction(1, 12800), 25.0)
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        ring.time_base = stream.time_base or ring.time_base
        stored = []
        for i, packet in enumerate(p for p in src.demux(stream) if p.size):
            copy = av.Packet(bytes(packet))
            copy.is_keyframe = packet.is_keyframe
            copy.duration = packet.duration
            if i not in (0, 30):  # an RTSP clock starts anywhere: here 1000 s in
                assert packet.pts is not None and packet.dts is not None
                offset = round(1000 / ring.time_base)
                copy.pts, copy.dts = packet.pts + offset, packet.dts + offset
            stored.append(ring.make(copy))
        clip = write_original_clip(stored, stream, tmp_path / "original.mp4")

    assert [p[0] for p in video_packets(clip)] == [p[0] for p in video_packets(path)]
    with av.open(str(clip)) as out:
        times = [float(f.time or 0.0) for f in out.decode(video=0)]
    assert len(times) == len(stored)
    # Every picture 1/25 s after the one before: no gap where the timestamps were missing.
    assert np.diff(times) == pytest.approx(np.full(len(times) - 1, 0.04), abs=1e-3)
