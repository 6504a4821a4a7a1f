"""Fixtures that write small real videos with PyAV, and damage them like real failures do."""

from __future__ import annotations

import fractions
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

FPS = 25
WIDTH, HEIGHT = 320, 240


def _scene_luma(
    n: int, width: int = WIDTH, height: int = HEIGHT, seed: int = 7
) -> Iterator[np.ndarray]:
    """``n`` grey pictures, (height, width) uint8: a scrolling textured wall and a bright
    30 px square that moves every frame, so consecutive frames always differ."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 140, width * 2, dtype=np.float32)[None, :]
    wall = np.clip(ramp + rng.normal(0, 14, size=(height, width * 2)), 0, 255).astype(np.uint8)
    side = 30
    for i in range(n):
        x = (2 * i) % width
        picture = wall[:, x : x + width].copy()
        x0 = (10 + 5 * i) % (width - side)
        y0 = (20 + 3 * i) % (height - side)
        picture[y0 : y0 + side, x0 : x0 + side] = 235
        yield picture


def _write_video(
    path: Path,
    *,
    container_format: str | None = None,
    codec: str = "libx264",
    seconds: float = 4.0,
    fps: int = FPS,
    width: int = WIDTH,
    height: int = HEIGHT,
    pix_fmt: str = "yuv420p",
    pts_ms: Sequence[int] | None = None,
    faststart: bool = True,
    metadata: dict[str, str] | None = None,
    codec_options: dict[str, str] | None = None,
) -> Path:
    """Encode the moving-square scene into ``path`` and return it.

    H.264 is libx264 with a keyframe every 25 frames (no scene-cut keyframes). ``pts_ms``
    gives each frame's presentation time in milliseconds (variable frame rate); otherwise
    frames are 1/fps apart. ``faststart=False`` leaves an MP4's index (moov) at the end,
    as a recorder does until it finalises the file.
    """
    n = len(pts_ms) if pts_ms is not None else round(seconds * fps)
    options = {"movflags": "+faststart"} if faststart and path.suffix == ".mp4" else {}
    with av.open(str(path), "w", format=container_format, options=options) as out:
        if metadata:
            out.metadata.update(metadata)
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            stream.options = {
                "g": "25",
                "keyint_min": "25",
                "sc_threshold": "0",
                "preset": "veryfast",
                "crf": "23",
                **(codec_options or {}),
            }
        else:
            stream.codec_context.gop_size = 25
            if codec == "mpeg4":
                stream.bit_rate = 600_000
            if codec_options:
                stream.options = codec_options
        if pts_ms is not None:
            stream.codec_context.time_base = fractions.Fraction(1, 1000)
        for i, luma in enumerate(_scene_luma(n, width, height)):
            frame = av.VideoFrame.from_ndarray(luma, format="gray").reformat(format=pix_fmt)
            if pts_ms is not None:
                frame.pts = pts_ms[i]
                frame.time_base = fractions.Fraction(1, 1000)
            else:
                frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _packet_spans(path: Path) -> list[tuple[int, int, int]]:
    """``(pos, end, pts)`` of each video packet in demux order (``end`` = next packet's pos)."""
    rows: list[tuple[int, int]] = []
    with av.open(str(path)) as src:
        for packet in src.demux(video=0):
            if packet.size and packet.pos is not None and packet.pts is not None:
                rows.append((packet.pos, packet.pts))
    size = path.stat().st_size
    return [
        (pos, rows[i + 1][0] if i + 1 < len(rows) else size, pts)
        for i, (pos, pts) in enumerate(rows)
    ]


def _reference_lumas(path: Path, *, skip_loop_filter: bool) -> dict[int, np.ndarray]:
    """Luma of every frame by pts, decoded by plain PyAV (``to_ndarray`` of yuv420p)."""
    result: dict[int, np.ndarray] = {}
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        if skip_loop_filter:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        for frame in src.decode(stream):
            assert frame.pts is not None
            yuv = frame.reformat(format="yuv420p").to_ndarray()
            result[frame.pts] = yuv[: frame.height].copy()
    return result


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``videos(name, **kwargs)``: a video written once per session by ``_write_video``."""
    folder = tmp_path_factory.mktemp("videos")
    made: dict[str, Path] = {}

    def make(name: str, **kwargs: Any) -> Path:
        if name not in made:
            made[name] = _write_video(folder / name, **kwargs)
        return made[name]

    return make


@pytest.fixture
def truncate(tmp_path: Path) -> Callable[[Path, float], Path]:
    """``truncate(src, fraction)``: a copy of ``src`` cut off after ``fraction`` of its bytes."""

    def cut(src: Path, fraction: float) -> Path:
        data = src.read_bytes()
        dst = tmp_path / f"cut{int(fraction * 100)}_{src.name}"
        dst.write_bytes(data[: int(len(data) * fraction)])
        return dst

    return cut


@pytest.fixture
def zero_bytes(tmp_path: Path) -> Callable[[Path, int, int], Path]:
    """``zero_bytes(src, start, count)``: a copy of ``src`` with ``count`` bytes zeroed."""

    def zero(src: Path, start: int, count: int) -> Path:
        data = bytearray(src.read_bytes())
        assert start + count < len(data), "the zeroed region must lie inside the file"
        data[start : start + count] = bytes(count)
        dst = tmp_path / f"zero{start}_{count}_{src.name}"
        dst.write_bytes(bytes(data))
        return dst

    return zero


def _mp4_box(path: Path, box_type: bytes) -> tuple[int, int]:
    """``(offset, size)`` of the first top-level MP4 box of ``box_type``."""
    data = path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        if data[offset + 4 : offset + 8] == box_type:
            return offset, size
        offset += size
    raise AssertionError(f"{path} has no {box_type!r} box")


@pytest.fixture(scope="session")
def packet_spans() -> Callable[[Path], list[tuple[int, int, int]]]:
    """``packet_spans(path)``: ``(pos, end, pts)`` of each video packet, in demux order."""
    return _packet_spans


@pytest.fixture(scope="session")
def reference_lumas() -> Callable[..., dict[int, np.ndarray]]:
    """``reference_lumas(path, skip_loop_filter=...)``: plain PyAV luma of each frame by pts."""
    return _reference_lumas


@pytest.fixture(scope="session")
def mp4_box() -> Callable[[Path, bytes], tuple[int, int]]:
    """``mp4_box(path, b"mdat")``: ``(offset, size)`` of a top-level MP4 box."""
    return _mp4_box


@pytest.fixture(scope="session")
def scene_luma() -> Callable[[int], list[np.ndarray]]:
    """``scene_luma(n)``: the first ``n`` pictures ``videos`` encodes, (240, 320) uint8 each."""
    return lambda n: list(_scene_luma(n))
