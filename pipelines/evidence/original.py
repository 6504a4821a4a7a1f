"""Original evidence clips: the source's own encoded packets, remuxed without re-encoding.

Usage (what ``pipelines.evidence.EvidenceWriter`` does for ``fallwatch analyze --clips-dir``)::

    ring = PacketRing(keep_s=20.0, time_base=source.info.time_base, fps=source.info.fps)
    clips = ClipCollector(ring)
    for frame in source.frames(on_packet=lambda p: clips.push(p)):
        ring.align(frame)                       # once: ties packet times to Frame.t_s
        for event in detector.process(frame.luma, frame.t_s):
            clips.start(key, event.start_s - 5.0, event.end_s + 3.0)
        for key, packets in clips.ready():
            write_original_clip(packets, template, folder / "original.mp4")

The ring keeps the last ``keep_s`` seconds of packets (always from a keyframe on), so a
clip can start at the keyframe at or before ``first sighting - pre-roll`` even though the
detector reports an event only after the object has landed; a started clip then keeps
collecting packets until ``last sighting + post-roll``.

Packets are kept as bytes with their own timestamps, and written back unchanged: the
video packets of a clip are byte-identical to the source's. The container is chosen so
that the bytes need no conversion: MPEG-TS in ``.ts`` (its H.264/HEVC is Annex B, which
MP4 and Matroska would rewrite to length-prefixed form), otherwise MP4 when MP4 can carry
the codec, else Matroska (``.mkv``), else QuickTime (``.mov``: Cinepak, which FFmpeg's
Matroska muxer refuses), else AVI.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import av.stream

from detector.errors import FallwatchError

log = logging.getLogger(__name__)

__all__ = [
    "ClipCollector",
    "EvidenceError",
    "PacketRing",
    "StoredPacket",
    "clip_suffix",
    "write_original_clip",
]

_TS_FORMAT = "mpegts"


class EvidenceError(FallwatchError):
    """An evidence file that could not be written (names the file)."""


@dataclass(frozen=True, slots=True)
class StoredPacket:
    """One encoded video packet, as demuxed.

    ``data`` is the packet's bytes; ``pts``/``dts``/``duration`` are in the stream's time
    base (``pts``/``dts`` may be None). ``t_s`` is its presentation time and ``decode_t_s``
    its decode time, both in stream seconds (timestamp x time base; the packet's position
    in demux order / fps where the container has no timestamps).
    """

    data: bytes
    pts: int | None
    dts: int | None
    duration: int
    keyframe: bool
    t_s: float
    decode_t_s: float


class PacketRing:
    """The last ``keep_s`` seconds of encoded packets, starting at a keyframe.

    Times inside are stream seconds (timestamp x ``time_base``); ``align(frame)`` records
    the offset to the ``Frame.t_s`` clock of ``pipelines.sources`` so that callers can ask
    in ``t_s`` (``to_stream_s``).
    """

    def __init__(self, keep_s: float, time_base: Fraction, fps: float) -> None:
        if keep_s <= 0:
            raise ValueError(f"keep_s must be > 0, got {keep_s}")
        self.keep_s = float(keep_s)
        self.time_base = time_base
        self.fps = float(fps)
        self._packets: deque[StoredPacket] = deque()
        self._count = 0
        self._bytes = 0
        self._last_dts: int | None = None  # of the last packet with a timestamp
        self._last_duration = 0
        self.offset_s: float | None = None  # stream seconds - Frame.t_s

    def __len__(self) -> int:
        return len(self._packets)

    @property
    def nbytes(self) -> int:
        """Encoded bytes held (the packets' data, without Python's per-object overhead)."""
        return self._bytes

    def make(self, packet: av.Packet) -> StoredPacket:
        """A ``StoredPacket`` copy of a demuxed packet (its bytes are copied)."""
        tb = self.time_base
        pts, dts = packet.pts, packet.dts
        index = self._count
        self._count += 1
        if pts is None and dts is None and self._last_dts is not None:
            # A stream with timestamps sent one packet without (RTSP can, for its first
            # picture): give it the next decode time, so that the muxer takes it. Only the
            # timestamps are made up; the bytes stay the camera's.
            step = self._last_duration or max(1, round(1 / (self.fps * tb)))
            pts = dts = self._last_dts + step
        if pts is None and dts is None:
            t = d = index / self.fps
        else:
            t = float((pts if pts is not None else dts) * tb)  # type: ignore[operator]
            d = float((dts if dts is not None else pts) * tb)  # type: ignore[operator]
            self._last_dts = dts if dts is not None else pts
            self._last_duration = int(packet.duration or 0)
        return StoredPacket(
            bytes(packet), pts, dts, int(packet.duration or 0), bool(packet.is_keyframe), t, d
        )

    def push(self, stored: StoredPacket) -> None:
        """Add a packet (demux order) and drop whole groups of pictures older than
        ``keep_s`` before it."""
        packets = self._packets
        packets.append(stored)
        self._bytes += len(stored.data)
        cutoff = stored.decode_t_s - self.keep_s
        # Drop from the front while the *next* keyframe is still older than the cutoff, so
        # the ring always starts at a keyframe at or before the cutoff.
        while len(packets) > 1:
            nxt = _next_keyframe(packets, 1)
            if nxt is None or packets[nxt].decode_t_s > cutoff:
                break
            for _ in range(nxt):
                self._bytes -= len(packets.popleft().data)
        if not packets[0].keyframe:  # the stream started mid-GOP: nothing to start from yet
            nxt = _next_keyframe(packets, 0)
            if nxt is not None:
                for _ in range(nxt):
                    self._bytes -= len(packets.popleft().data)
            else:  # no keyframe at all so far: keep no more than keep_s of them
                while len(packets) > 1 and packets[0].decode_t_s < cutoff:
                    self._bytes -= len(packets.popleft().data)

    def align(self, frame_pts: int | None, frame_t_s: float) -> None:
        """Tie stream time to the ``Frame.t_s`` clock, from the first decoded frame."""
        if self.offset_s is None and frame_pts is not None:
            self.offset_s = float(frame_pts * self.time_base) - frame_t_s

    def to_stream_s(self, t_s: float) -> float:
        """``Frame.t_s`` -> stream seconds (identity until ``align`` has been called)."""
        return t_s + (self.offset_s or 0.0)

    def since(self, start_t_s: float) -> list[StoredPacket]:
        """The packets in demux order from the last keyframe presented at or before
        ``start_t_s`` (``Frame.t_s`` clock); from the oldest keyframe held if none is."""
        start = self.to_stream_s(start_t_s)
        packets = list(self._packets)
        keys = [i for i, p in enumerate(packets) if p.keyframe]
        if not keys:
            return []
        before = [i for i in keys if packets[i].t_s <= start + 1e-9]
        begin = before[-1] if before else keys[0]
        return packets[begin:]


def _next_keyframe(packets: deque[StoredPacket], start: int) -> int | None:
    for i in range(start, len(packets)):
        if packets[i].keyframe:
            return i
    return None


class ClipCollector:
    """Clips being collected: each from its pre-roll keyframe to its end time.

    ``start(key, from_t_s, to_t_s)`` takes the ring's packets from the keyframe at or before
    ``from_t_s``; every packet passed to ``push`` afterwards is added until one is decoded
    after ``to_t_s`` (all frames presented up to ``to_t_s`` and the pictures they refer to
    are then inside). ``ready()`` yields finished clips; ``flush()`` the rest at the end.
    """

    def __init__(self, ring: PacketRing) -> None:
        self.ring = ring
        self._open: dict[str, tuple[float, list[StoredPacket]]] = {}
        self._done: list[tuple[str, list[StoredPacket]]] = []

    def push(self, packet: av.Packet) -> None:
        stored = self.ring.make(packet)
        self.ring.push(stored)
        for key in list(self._open):
            end_s, packets = self._open[key]
            if stored.decode_t_s > end_s + 1e-9:
                self._done.append((key, packets))
                del self._open[key]
            else:
                packets.append(stored)

    def start(self, key: str, from_t_s: float, to_t_s: float) -> None:
        packets = self.ring.since(from_t_s)
        end_s = self.ring.to_stream_s(to_t_s)
        if packets and packets[-1].decode_t_s > end_s:
            keep = [p for p in packets if p.decode_t_s <= end_s + 1e-9]
            self._done.append((key, keep))
        else:
            self._open[key] = (end_s, packets)

    def packets_of(self, key: str) -> list[StoredPacket] | None:
        """The list clip ``key`` collects into: it grows (appends only) until the clip is
        ready, and is then the list ``ready()``/``flush()`` yield. None for an unknown key."""
        if key in self._open:
            return self._open[key][1]
        for done_key, packets in self._done:
            if done_key == key:
                return packets
        return None

    def ready(self) -> Iterator[tuple[str, list[StoredPacket]]]:
        done, self._done = self._done, []
        yield from done

    def flush(self) -> Iterator[tuple[str, list[StoredPacket]]]:
        """Every clip, finished or not (the video ended before their post-roll)."""
        yield from self.ready()
        opened, self._open = self._open, {}
        for key, (_, packets) in opened.items():
            yield key, packets


def clip_suffix(format_name: str, codec_name: str) -> str:
    """The file suffix of the original clip for a source container/codec: ``.ts`` for
    MPEG-TS; otherwise the first of MP4, Matroska, QuickTime, AVI whose FFmpeg muxer
    accepts the codec (Cinepak: ``.mov``, which Matroska's muxer refuses); ``.mkv`` when
    none says so (writing will then report the refusal)."""
    if format_name == _TS_FORMAT:
        return ".ts"
    for suffix, fmt in _FORMATS.items():
        if fmt != _TS_FORMAT and codec_name in _muxer_codecs(fmt):
            return suffix
    return ".mkv"


_MUXER_CODECS: dict[str, frozenset[str]] = {}


def _muxer_codecs(fmt: str) -> frozenset[str]:
    codecs = _MUXER_CODECS.get(fmt)
    if codecs is None:
        with av.open(os.devnull, "w", format=fmt) as probe:
            codecs = _MUXER_CODECS[fmt] = frozenset(probe.supported_codecs)
    return codecs


_FORMATS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov", ".avi": "avi", ".ts": "mpegts"}


def _fill_timestamps(packets: list[StoredPacket], step: int
                     ) -> list[tuple[int | None, int | None]]:
    """``(pts, dts)`` per packet; where a stream with timestamps has packets without any
    (RTSP's first picture can come so), they get decode times ``step`` apart from their
    nearest stamped neighbour (so the muxer takes them). All None for a raw stream."""
    stamps = [(p.pts, p.dts) for p in packets]
    stamped = [i for i, (pts, dts) in enumerate(stamps) if pts is not None or dts is not None]
    if not stamped or len(stamped) == len(stamps):
        return stamps
    for i, (pts, dts) in enumerate(stamps):
        if pts is not None or dts is not None:
            continue
        before = [j for j in stamped if j < i]
        j = before[-1] if before else stamped[0]
        ref = stamps[j][1] if stamps[j][1] is not None else stamps[j][0]
        assert ref is not None
        t = ref + (i - j) * step
        stamps[i] = (t, t)
    return stamps


def write_original_clip(
    packets: list[StoredPacket],
    template: av.stream.Stream,
    path: Path,
    *,
    metadata: dict[str, str] | None = None,
    fps: float = 25.0,
) -> Path:
    """Write ``packets`` into ``path`` (``.mp4``, ``.mkv``, ``.mov``, ``.avi`` or ``.ts``)
    without re-encoding.

    ``template`` is the source's video stream (codec parameters, time base). The file is
    written under ``path`` + ``.part`` and renamed when complete, so a clip that exists is
    whole. ``fps`` numbers the pictures of a source without timestamps (raw .h264).
    Raises ``EvidenceError`` (naming the file) when the muxer refuses the packets.
    """
    if not packets:
        raise EvidenceError(f"{path}: no packets to write (expected at least one keyframe)")
    fmt = _FORMATS.get(path.suffix)
    if fmt is None:
        raise EvidenceError(f"{path}: unsupported clip suffix (expected {', '.join(_FORMATS)})")
    part = path.with_name(path.name + ".part")
    time_base = template.time_base or Fraction(1, 90_000)
    try:
        with av.open(str(part), "w", format=fmt) as out:
            if metadata:
                out.metadata.update(metadata)
            stream = out.add_stream_from_template(template)
            last_dts: int | None = None
            step = max(1, round(1 / (fps * time_base)))
            stamps = _fill_timestamps(packets, step)
            for i, p in enumerate(packets):
                pkt = av.Packet(p.data)
                pts, dts = stamps[i]
                if pts is None and dts is None:  # raw stream: number the pictures
                    pts = dts = i
                    pkt.time_base = 1 / Fraction(fps).limit_denominator(1001)
                else:
                    pkt.time_base = time_base
                if dts is not None and last_dts is not None and dts <= last_dts:
                    dts = None  # let the muxer cope with an out-of-order decode time
                pkt.pts, pkt.dts = pts, dts
                if dts is not None:
                    last_dts = dts
                pkt.duration = p.duration
                pkt.is_keyframe = p.keyframe
                pkt.stream = stream
                out.mux(pkt)
    except (av.error.FFmpegError, ValueError, TypeError) as exc:
        part.unlink(missing_ok=True)
        raise EvidenceError(f"{path}: could not write the original clip: {exc}") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, path)
    return path
