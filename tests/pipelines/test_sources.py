"""pipelines.sources: real videos written with PyAV, read back; damaged copies of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pipelines.errors import SourceError, StreamDamagedError
from pipelines.sources import Frame, StreamDamage, VideoSource, open_video

NEGATIVES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "negatives"
N_FRAMES = 100  # 4 s at 25 fps, keyframes at 0, 1, 2, 3 s

Videos = Callable[..., Path]


def read_all(
    path: Path, *, fast_decode: bool = True, resume_after_damage: bool = True
) -> tuple[list[Frame], VideoSource]:
    """Every frame ``frames()`` yields, all kept, and the exhausted (closed) source."""
    with open_video(path) as source:
        frames = list(
            source.frames(fast_decode=fast_decode, resume_after_damage=resume_after_damage)
        )
    return frames, source


def assert_same_pictures(frames: list[Frame], reference: dict[int, np.ndarray]) -> None:
    """Each yielded frame is bit-identical to the plain PyAV decode of the same pts."""
    for frame in frames:
        assert frame.pts in reference, f"frame {frame.index} has pts {frame.pts}, not in the file"
        assert np.array_equal(frame.luma, reference[frame.pts]), f"frame {frame.index} differs"


# -- intact files ------------------------------------------------------------------------------


CONTAINERS = [
    pytest.param("clip.mp4", {}, "mov,mp4,m4a,3gp,3g2,mj2", "h264", id="mp4"),
    pytest.param("clip.ts", {"container_format": "mpegts"}, "mpegts", "h264", id="mpegts"),
    pytest.param("clip.mkv", {}, "matroska,webm", "h264", id="mkv"),
    pytest.param("clip.avi", {"codec": "mpeg4"}, "avi", "mpeg4", id="avi-mpeg4"),
    # H.264 with B-frames in AVI: FFmpeg's guessed pts are out of order; dts is the clock.
    pytest.param("h264.avi", {}, "avi", "h264", id="avi-h264-bframes"),
]


@pytest.mark.parametrize(("name", "kwargs", "format_name", "codec"), CONTAINERS)
def test_intact_file_reads_every_frame_with_its_time(
    videos: Videos,
    reference_lumas: Callable[..., dict[int, np.ndarray]],
    name: str,
    kwargs: dict[str, str],
    format_name: str,
    codec: str,
) -> None:
    path = videos(name, **kwargs)
    frames, source = read_all(path)

    info = source.info
    assert (info.format_name, info.codec_name) == (format_name, codec)
    assert (info.width, info.height, info.fps) == (320, 240, 25.0)
    assert info.frames == N_FRAMES
    assert info.duration_s == pytest.approx(4.0, abs=0.05)
    assert info.has_timestamps
    assert info.path == path

    assert [f.index for f in frames] == list(range(N_FRAMES))
    assert [f.t_s for f in frames] == pytest.approx([i / 25 for i in range(N_FRAMES)], abs=1e-6)
    assert [f.index for f in frames if f.keyframe] == [0, 25, 50, 75]
    assert source.damage is None
    assert source.complete
    source.raise_if_damaged()  # no exception
    assert_same_pictures(frames, reference_lumas(path, skip_loop_filter=True))


@pytest.mark.parametrize("name", ["vfr.mp4", "vfr.mkv"])
def test_variable_frame_rate_times_come_from_the_timestamps(videos: Videos, name: str) -> None:
    steps = np.random.default_rng(3).integers(15, 90, size=59)
    pts_ms = [0, *np.cumsum(steps).tolist()]
    path = videos(name, pts_ms=pts_ms)

    frames, source = read_all(path)

    assert [f.t_s for f in frames] == pytest.approx([p / 1000 for p in pts_ms], abs=1e-6)
    assert source.complete


def test_raw_h264_has_no_timestamps_and_times_follow_the_frame_rate(videos: Videos) -> None:
    path = videos("clip.h264", container_format="h264", seconds=2)

    frames, source = read_all(path)

    assert not source.info.has_timestamps
    assert source.info.duration_s is None
    assert [f.pts for f in frames] == [None] * 50
    assert [f.t_s for f in frames] == pytest.approx([i / 25 for i in range(50)])
    assert source.complete


def test_luma_is_a_read_only_view_that_stays_valid(
    videos: Videos, reference_lumas: Callable[..., dict[int, np.ndarray]]
) -> None:
    path = videos("clip.mp4")
    frames, _ = read_all(path)  # every luma kept while later frames are decoded

    luma = frames[10].luma
    assert luma.shape == (240, 320)
    assert luma.dtype == np.uint8
    with pytest.raises(ValueError, match="read-only"):
        luma[0, 0] = 1
    assert_same_pictures(frames, reference_lumas(path, skip_loop_filter=True))


def test_width_with_padded_rows_gives_exact_width(
    videos: Videos, reference_lumas: Callable[..., dict[int, np.ndarray]]
) -> None:
    path = videos("w330.mp4", width=330, seconds=1)

    frames, _ = read_all(path)

    assert frames[0].luma.shape == (240, 330)
    assert frames[0].luma.strides[0] > 330  # a view of the padded decoder rows, not a copy
    assert_same_pictures(frames, reference_lumas(path, skip_loop_filter=True))


def test_gray_pixel_format_is_read_directly(
    videos: Videos, scene_luma: Callable[[int], list[np.ndarray]]
) -> None:
    path = videos("gray.mkv", codec="ffv1", pix_fmt="gray", seconds=1)  # lossless

    frames, source = read_all(path)

    assert source.info.pixel_format == "gray"
    expected = scene_luma(25)
    assert all(np.array_equal(f.luma, e) for f, e in zip(frames, expected, strict=True))


def test_ten_bit_video_is_converted_to_8_bit_luma(
    videos: Videos, scene_luma: Callable[[int], list[np.ndarray]]
) -> None:
    path = videos("ten_bit.mkv", pix_fmt="yuv420p10le", seconds=1)

    frames, source = read_all(path)

    assert source.info.pixel_format == "yuv420p10le"
    assert len(frames) == 25 and frames[0].luma.dtype == np.uint8
    for frame, scene in zip(frames, scene_luma(25), strict=True):
        error = np.abs(frame.luma.astype(np.int16) - scene.astype(np.int16)).mean()
        assert error < 4, f"frame {frame.index}: mean error {error:.1f} grey levels"


def test_fast_decode_skips_only_the_loop_filter(
    videos: Videos, reference_lumas: Callable[..., dict[int, np.ndarray]]
) -> None:
    path = videos("clip.mp4")
    exact, _ = read_all(path, fast_decode=False)
    fast, _ = read_all(path, fast_decode=True)

    assert_same_pictures(exact, reference_lumas(path, skip_loop_filter=False))
    assert_same_pictures(fast, reference_lumas(path, skip_loop_filter=True))
    differences = [
        np.abs(a.luma.astype(np.int16) - b.luma.astype(np.int16)).mean()
        for a, b in zip(exact, fast, strict=True)
    ]
    assert max(differences) > 0  # the option reached the decoder
    assert max(differences) < 3  # and changes the pictures only slightly


def test_on_packet_sees_every_packet_before_its_frame(videos: Videos) -> None:
    path = videos("clip.mp4")
    with av.open(str(path)) as src:
        expected = [(p.pts, p.dts, p.size) for p in src.demux(video=0) if p.size]
    seen: list[tuple[int | None, int | None, int]] = []

    with open_video(path) as source:
        for frame in source.frames(on_packet=lambda p: seen.append((p.pts, p.dts, p.size))):
            assert frame.pts in {pts for pts, _, _ in seen}

    assert seen == expected


def test_packet_times_are_on_the_frame_clock(videos: Videos) -> None:
    path = videos("clip.ts", container_format="mpegts")  # pts start at 0.08 s, not 0
    packets: list[av.Packet] = []

    with open_video(path) as source:
        frames = list(source.frames(on_packet=packets.append))
        packet_times = sorted(source.packet_t_s(p) or 0.0 for p in packets)

    assert packet_times == pytest.approx([f.t_s for f in frames], abs=1e-9)


def test_creation_time_comes_from_the_container(videos: Videos) -> None:
    stamped = videos("stamped.mp4", seconds=1, metadata={"creation_time": "2026-03-04T05:06:07Z"})
    plain = videos("clip.mkv")

    with open_video(stamped) as source:
        assert source.info.creation_time == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    with open_video(plain) as source:
        assert source.info.creation_time is None


def remux_without_first_packets(src: Path, dst: Path, skip: int) -> Path:
    """Copy ``src`` without its first ``skip`` packets: a recording that starts mid-GOP."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        in_stream = inp.streams.video[0]
        out_stream = out.add_stream_from_template(in_stream)
        for i, packet in enumerate(inp.demux(in_stream)):
            if i >= skip and packet.dts is not None:
                packet.stream = out_stream
                out.mux(packet)
    return dst


@pytest.mark.parametrize(("name", "kwargs"), [("clip.ts", {}), ("clip.avi", {"codec": "mpeg4"})])
def test_recording_that_starts_mid_gop_is_complete_from_its_first_keyframe(
    videos: Videos, tmp_path: Path, name: str, kwargs: dict[str, str]
) -> None:
    fmt = {"container_format": "mpegts"} if name.endswith(".ts") else {}
    src = videos(name, **fmt, **kwargs)
    path = remux_without_first_packets(src, tmp_path / name, skip=10)

    frames, source = read_all(path)

    assert frames[0].keyframe
    assert len(frames) == N_FRAMES - 25  # from the keyframe at 1 s on
    assert source.complete


def test_real_cinepak_footage_has_68_pictures_over_444_frame_slots() -> None:
    # The AVI declares 444 frames at 15 fps, but only 68 chunks carry a picture; the rest
    # are empty "repeat the previous picture" chunks, which FFmpeg skips. The timestamps
    # keep the gaps, so the 68 frames span the whole 29.6 s: nothing is missing.
    path = NEGATIVES / "opencv_tree.avi"
    with av.open(str(path)) as src:
        rgb = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]

    frames, source = read_all(path)

    assert (source.info.codec_name, source.info.pixel_format) == ("cinepak", "rgb24")
    assert source.info.fps == pytest.approx(15.0, rel=1e-4)  # 1000000/66667
    assert source.info.frames == 444
    assert len(frames) == 68
    tick = 66667 / 1_000_000  # the file's time base
    assert frames[1].t_s == pytest.approx(11 * tick)
    assert frames[-1].t_s == pytest.approx(443 * tick)
    assert source.complete
    for frame, picture in zip(frames, rgb, strict=True):
        gray = cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY)
        assert frame.luma.shape == gray.shape
        assert np.abs(frame.luma.astype(np.int16) - gray).max() <= 1


def test_real_mpeg4_footage_reads_completely() -> None:
    frames, source = read_all(NEGATIVES / "bgslibrary_video03_trees_traffic.avi")

    assert source.info.codec_name == "mpeg4"
    assert source.info.fps == pytest.approx(60.0, rel=1e-4)
    assert len(frames) == 1699
    # MPEG-4 with B-frames in AVI: FFmpeg's guessed pts are out of order by up to 3
    # frames; the chunk clock (dts) gives the real, regular 60 fps.
    times = np.array([f.t_s for f in frames])
    assert times[0] == 0.0
    assert np.diff(times) == pytest.approx(np.full(1698, 1 / 60), rel=1e-3)
    assert source.complete


# -- files that cannot be read at all -----------------------------------------------------------


def test_missing_file_is_a_source_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.mp4"
    with pytest.raises(SourceError, match=r"nowhere\.mp4: no such file"):
        open_video(path)


def test_text_file_named_mp4_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("camera 3 was moved on Tuesday\n")
    with pytest.raises(SourceError, match=r"notes.mp4: cannot be opened as a video.*text file"):
        open_video(path)


def test_empty_file_and_directory_are_source_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mkv"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match=r"empty.mkv: .*empty file"):
        open_video(empty)
    with pytest.raises(SourceError, match="not a regular file"):
        open_video(tmp_path)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        silence = np.zeros((1, 1024), np.float32)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(SourceError, match=r"voice.m4a: has no video stream .*found audio"):
        open_video(path)


def test_mp4_cut_off_before_its_index_was_written(
    videos: Videos, truncate: Callable[[Path, float], Path]
) -> None:
    # A recorder writes the index (moov) when it finalises the file; until then the file
    # is ftyp + mdat. FFmpeg cannot read any of it: nothing is decodable.
    whole = videos("recording.mp4", faststart=False)
    path = truncate(whole, 0.6)

    with pytest.raises(SourceError) as caught:
        open_video(path)

    message = str(caught.value)
    assert str(path) in message
    assert "incomplete MP4" in message and "no 'moov' box" in message
    assert "cut off" in message


# -- files damaged midway -------------------------------------------------------------------------


@dataclass
class Intact:
    """What the undamaged file holds: each frame's picture and time, each packet's bytes."""

    lumas: dict[int, np.ndarray]  # pts -> (H, W) uint8
    times: dict[int, float]  # pts -> seconds after the first frame
    spans: list[tuple[int, int, int]]  # (pos, end, pts) of each packet, demux order

    def first_hit_t_s(self, start: int, stop: int) -> float:
        """Time of the earliest frame whose packet overlaps bytes [start, stop)."""
        return min(self.times[pts] for pos, end, pts in self.spans if pos < stop and end > start)


@pytest.fixture
def intact(
    reference_lumas: Callable[..., dict[int, np.ndarray]],
    packet_spans: Callable[[Path], list[tuple[int, int, int]]],
) -> Callable[[Path], Intact]:
    def describe(path: Path) -> Intact:
        lumas = reference_lumas(path, skip_loop_filter=True)
        with av.open(str(path)) as src:
            tb = src.streams.video[0].time_base
        assert tb is not None
        first = min(lumas)
        times = {pts: float((pts - first) * tb) for pts in lumas}
        return Intact(lumas, times, packet_spans(path))

    return describe


def assert_intact_prefix_then_damage(
    frames: list[Frame], source: VideoSource, whole: Intact, damaged_t_s: float
) -> StreamDamage:
    """Damage is reported, starts no later than the real damage (and at most a few frames
    earlier), every frame before it was yielded, and every yielded frame is intact."""
    damage = source.damage
    assert damage is not None, "damage not reported"
    assert not source.complete
    assert str(source.info.path) in damage.message
    assert damaged_t_s - 0.2 <= damage.first_bad_t_s <= damaged_t_s + 1e-6
    assert_same_pictures(frames, whole.lumas)
    before = sorted(t for t in whole.times.values() if t < damage.first_bad_t_s - 1e-6)
    assert [f.t_s for f in frames[: damage.frames_ok]] == pytest.approx(before, abs=1e-6)
    assert len(frames) == damage.frames_ok + damage.frames_after
    with pytest.raises(StreamDamagedError) as caught:
        source.raise_if_damaged()
    assert caught.value.damage is damage
    return damage


def ts_cut_inside_picture(data: bytes, at: int, video_pid: int = 256) -> int:
    """The first TS packet boundary at or after ``at`` that lies inside a video PES, i.e.
    where the next packet of the video PID continues a picture instead of starting one."""
    cut = at // 188 * 188
    while True:
        nxt = next(
            k
            for k in range(cut, len(data), 188)
            if (data[k + 1] & 0x1F) << 8 | data[k + 2] == video_pid
        )
        if not data[nxt + 1] & 0x40:  # no payload_unit_start: the picture goes on
            return cut
        cut += 188


@pytest.mark.parametrize("aligned", [True, False], ids=["at-packet-boundary", "mid-packet"])
def test_mpegts_cut_in_half_yields_the_frames_before_the_cut_then_reports_it(
    videos: Videos, tmp_path: Path, intact: Callable[[Path], Intact], aligned: bool
) -> None:
    # A TS has no index and no end marker: FFmpeg passes the cut-off last picture on
    # without complaint, and the H.264 decoder notices only about half the time; so the
    # file is cut inside a picture at several places, and every cut must be reported.
    whole_path = videos("clip.ts", container_format="mpegts")
    whole = intact(whole_path)
    data = whole_path.read_bytes()
    for fraction in (0.5, 0.3, 0.4, 0.45, 0.55, 0.6, 0.7, 0.8, 0.9):
        cut = ts_cut_inside_picture(data, int(len(data) * fraction))
        cut = cut if aligned else cut + 101
        started = sorted((pos, pts) for pos, _, pts in whole.spans if pos < cut)
        complete, (_, broken_pts) = [pts for _, pts in started[:-1]], started[-1]
        path = tmp_path / f"cut{fraction}.ts"
        path.write_bytes(data[:cut])

        frames, source = read_all(path)

        assert_intact_prefix_then_damage(frames, source, whole, whole.times[broken_pts])
        assert sorted(f.pts for f in frames) == sorted(complete)  # nothing intact is lost


def test_mpegts_cut_between_two_pictures_is_a_complete_shorter_recording(
    videos: Videos, tmp_path: Path, intact: Callable[[Path], Intact]
) -> None:
    whole_path = videos("clip.ts", container_format="mpegts")
    whole = intact(whole_path)
    cut = next(pos for pos, _, pts in whole.spans if whole.times[pts] == 2.0)  # a PES start
    path = tmp_path / "shorter.ts"
    path.write_bytes(whole_path.read_bytes()[:cut])

    frames, source = read_all(path)

    assert source.complete
    assert sorted(f.pts for f in frames) == sorted(p for pos, _, p in whole.spans if pos < cut)


@pytest.mark.parametrize("seconds", [1, 2, 3, 5, 6])
def test_intact_mpegts_of_any_length_is_complete(videos: Videos, seconds: int) -> None:
    path = videos(f"len{seconds}.ts", container_format="mpegts", seconds=seconds)

    frames, source = read_all(path)

    assert len(frames) == 25 * seconds
    assert source.complete


def test_mp4_with_zeroed_bytes_in_its_media_data(
    videos: Videos,
    intact: Callable[[Path], Intact],
    zero_bytes: Callable[[Path, int, int], Path],
    mp4_box: Callable[[Path, bytes], tuple[int, int]],
) -> None:
    whole_path = videos("clip.mp4")
    whole = intact(whole_path)
    mdat, size = mp4_box(whole_path, b"mdat")
    start, count = mdat + size // 2, 30_000
    path = zero_bytes(whole_path, start, count)

    frames, source = read_all(path)

    damage = assert_intact_prefix_then_damage(
        frames, source, whole, whole.first_hit_t_s(start, start + count)
    )
    # Without frame threads FFmpeg's H.264 decoder conceals the zeroed data silently;
    # with them it raises InvalidDataError. The zero run itself is found either way.
    assert any("run of zero bytes" in reason for reason in damage.reasons)
    assert damage.frames_after == 25  # resumed at the keyframe at 3 s
    assert frames[damage.frames_ok].keyframe and frames[damage.frames_ok].t_s == 3.0


@pytest.mark.parametrize("count", [20_000, 50_000])
def test_mpegts_with_zeroed_bytes_midway(
    videos: Videos,
    intact: Callable[[Path], Intact],
    zero_bytes: Callable[[Path, int, int], Path],
    count: int,
) -> None:
    whole_path = videos("clip.ts", container_format="mpegts")
    whole = intact(whole_path)
    start = whole_path.stat().st_size // 2
    path = zero_bytes(whole_path, start, count)

    frames, source = read_all(path)

    damage = assert_intact_prefix_then_damage(
        frames, source, whole, whole.first_hit_t_s(start, start + count)
    )
    assert any("corrupt" in reason for reason in damage.reasons)


def test_mkv_with_zeroed_clusters_stops_early_and_says_so(
    videos: Videos, intact: Callable[[Path], Intact], zero_bytes: Callable[[Path, int, int], Path]
) -> None:
    # FFmpeg's Matroska demuxer stops at the zeroed cluster without any error: only the
    # duration in the header shows that most of the video is missing.
    whole_path = videos("clip.mkv")
    whole = intact(whole_path)
    start, count = whole_path.stat().st_size // 2, 50_000
    path = zero_bytes(whole_path, start, count)

    frames, source = read_all(path)

    damage = assert_intact_prefix_then_damage(
        frames, source, whole, whole.first_hit_t_s(start, start + count)
    )
    assert any("declares 4.000 s" in reason for reason in damage.reasons)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("clip.mp4", {}), ("clip.mkv", {}), ("clip.avi", {"codec": "mpeg4"})],
    ids=["mp4-faststart", "mkv", "avi-mpeg4"],
)
def test_file_cut_at_60_percent_yields_what_was_written_then_reports_it(
    videos: Videos,
    intact: Callable[[Path], Intact],
    truncate: Callable[[Path, float], Path],
    name: str,
    kwargs: dict[str, str],
) -> None:
    whole_path = videos(name, **kwargs)
    whole = intact(whole_path)
    path = truncate(whole_path, 0.6)
    cut = path.stat().st_size

    frames, source = read_all(path)

    damage = assert_intact_prefix_then_damage(
        frames, source, whole, whole.first_hit_t_s(cut, cut + 1)
    )
    assert damage.frames_after == 0


def test_without_resume_iteration_stops_at_the_first_damage(
    videos: Videos,
    zero_bytes: Callable[[Path, int, int], Path],
    mp4_box: Callable[[Path, bytes], tuple[int, int]],
) -> None:
    whole_path = videos("clip.mp4")
    mdat, size = mp4_box(whole_path, b"mdat")
    path = zero_bytes(whole_path, mdat + size // 2, 20_000)

    frames, source = read_all(path, resume_after_damage=False)

    assert source.damage is not None
    assert source.damage.frames_after == 0
    assert len(frames) == source.damage.frames_ok
    assert frames[-1].t_s < source.damage.first_bad_t_s


# -- using a source -----------------------------------------------------------------------------


def test_damage_is_unknown_until_the_frames_ran_out(videos: Videos) -> None:
    with open_video(videos("clip.mp4")) as source:
        with pytest.raises(RuntimeError, match="only after frames"):
            _ = source.damage
        for frame in source.frames():
            if frame.index == 10:
                break
        assert not source.finished
        with pytest.raises(RuntimeError, match="only after frames"):
            _ = source.complete
        with pytest.raises(RuntimeError, match="only once"):
            source.frames()
