"""Video file input through PyAV: luma frames with timestamps, encoded packets, damage.

Usage::

    with open_video("clip.mp4") as source:
        for frame in source.frames(on_packet=ring.push):
            detector.step(frame.t_s, frame.luma)     # luma: (H, W) uint8, read-only
        if source.damage is not None:               # the video broke midway
            ...                                     # keep what was found, report, exit 3

``open_video`` raises ``SourceError`` when nothing can be read (missing file, not a video,
no video stream, an MP4 cut off before its index was written). Damage found *while*
reading never raises inside ``frames()``: intact frames are yielded, damaged ones are
dropped, yielding resumes at the next keyframe, and afterwards ``VideoSource.damage``
(a ``StreamDamage``) says from which time, how many frames were intact and why.
``damage`` and ``complete`` raise ``RuntimeError`` until ``frames()`` has run to the end,
so an iteration that stopped early can never pass for a complete read;
``raise_if_damaged()`` turns damage into ``StreamDamagedError``.

What counts as damage (found by experiment with PyAV 18.1 / FFmpeg 8.1):

- the demuxer raising midway (read error);
- a packet flagged corrupt by the demuxer: MPEG-TS continuity errors after lost or zeroed
  bytes (the flag lands one picture early, on the packet the H.264 parser was holding),
  the cut-off last sample of an MP4 (moov at the front) or of an AVI;
- the decoder raising (H.264 in MP4/MKV with zeroed bytes, with frame threads:
  ``InvalidDataError``) or returning a picture flagged corrupt (``decode_error_flags``);
- a run of 8 zero bytes in an H.264/HEVC packet of MP4/Matroska, which valid data cannot
  hold: without frame threads (one CPU) the H.264 decoder conceals zeroed data silently,
  neither raising nor flagging the pictures;
- an MPEG-TS that ends inside its last picture: FFmpeg passes the cut-off last PES on
  silently and H.264 decodes it without complaint about half the time, so the bytes are
  checked (see ``_ts_tail_truncated``);
- a container that declares its duration (MP4, Matroska, AVI) whose last decoded frame ends
  more than 1.5 frame intervals before it: a Matroska file with zeroed clusters, or cut
  off, simply stops demuxing without any error.

Not detectable: a TS cut exactly between two pictures (it is a shorter recording, nothing
in it is damaged), and damage in raw elementary streams (.h264) that the decoder conceals
silently, since they carry neither duration nor packet checks.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import av.container
import av.error
import av.video.stream
import numpy as np

from pipelines.errors import SourceError, StreamDamagedError

log = logging.getLogger(__name__)

__all__ = ["Frame", "StreamDamage", "VideoInfo", "VideoSource", "open_video"]

# Containers that state their duration in a header/index rather than estimating it from the
# timestamps found in the file; for these a last frame far short of the duration is damage.
_MP4_FORMAT = "mov,mp4,m4a,3gp,3g2,mj2"
_MKV_FORMAT = "matroska,webm"
_AVI_FORMAT = "avi"
_TS_FORMAT = "mpegts"
_AVFMT_NOTIMESTAMPS = 0x0080  # av.format.Flags.no_timestamps: raw streams (.h264)

_SHORTFALL_FRAMES = 1.5  # tolerated gap between the last frame's end and the declared end
_RESYNC_SECONDS = 10.0  # give up waiting for a keyframe after this much video
_MP4_BOX_TYPES = {b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"moof", b"pdin"}
# H.264/HEVC in MP4/Matroska store NAL units behind 4-byte lengths; emulation prevention
# keeps 00 00 00 out of every NAL unit, and a NAL unit never ends in 00, so valid packets
# hold at most 3 zero bytes in a row. The decoder may conceal zeroed data without a word
# (it did without frame threads), so such runs are looked for directly.
_ZERO_RUN = bytes(8)
_MKV_DURATION = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the container says about the video stream, known before any frame is decoded.

    ``fps`` is the stream's average frame rate (else the guessed or base rate; 25.0 with a
    warning when the file states none). ``frames`` is the container's count, else an
    estimate from ``duration_s * fps``, else 0. ``duration_s`` is None when unknown (raw
    streams). ``time_base`` is the unit of packet and frame timestamps. ``creation_time`` is the
    container's ``creation_time`` tag as an aware UTC datetime, None when absent.
    ``has_timestamps`` is False for formats without timestamps (raw .h264): there ``t_s``
    is ``index / fps``.
    """

    path: Path
    format_name: str
    codec_name: str
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float | None
    time_base: Fraction
    creation_time: datetime | None
    has_timestamps: bool
    pixel_format: str


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded picture.

    ``index`` counts the frames the decoder produced before this one (0-based; frames
    dropped as damaged still count, so gaps in ``index`` show where frames were dropped).
    ``t_s`` is the presentation time in seconds after the first decoded frame, from the
    container's timestamps (pts; dts in AVI, see ``_Clock``), so variable frame rate is
    exact; ``index / fps`` where there are none (raw .h264). It always increases.
    ``luma`` is the Y plane, shape (H, W), dtype uint8, **read-only**: a view into the
    decoder's buffer (rows may be strided) where the pixel format allows, a converted copy
    otherwise (RGB, palette, high bit depth). Copy it to keep it beyond the next few frames
    or to write into it. ``keyframe`` is the decoder's key-frame flag. ``pts`` is the raw
    timestamp in ``VideoInfo.time_base`` (None when the container has none), to line the
    frame up with the packets passed to ``on_packet``.
    """

    index: int
    t_s: float
    luma: np.ndarray
    keyframe: bool
    pts: int | None


@dataclass(frozen=True, slots=True)
class StreamDamage:
    """Where and why a video broke midway.

    ``first_bad_t_s`` (same clock as ``Frame.t_s``) is the earliest time of a picture that
    was lost, damaged or withheld: every frame before it was yielded, intact. ``frames_ok``
    frames were yielded before it; ``frames_after`` intact frames were yielded after it
    (pictures already inside the decoder when a later packet was lost, and pictures from
    the keyframe where decoding recovered on); ``frames_dropped`` decoded pictures were
    withheld as damaged or as depending on damaged ones. ``reasons`` lists each kind of
    damage found, in order. ``message`` names the file and says what was expected and what
    arrived.
    """

    path: Path
    first_bad_t_s: float
    frames_ok: int
    frames_after: int
    frames_dropped: int
    reasons: tuple[str, ...]
    message: str


class _DamageLog:
    """Mutable record of the damage found during one iteration (internal)."""

    __slots__ = (
        "count",
        "earliest_t_s",
        "interval_s",
        "last_before_t_s",
        "later_t_s",
        "reasons",
        "yielded_before",
    )

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.count = 0
        self.earliest_t_s = math.inf  # earliest time of a lost, damaged or withheld picture
        self.yielded_before = 0  # frames yielded before the first incident
        self.last_before_t_s: float | None = None  # the time of the last of them
        self.later_t_s: list[float] = []  # times of the frames yielded after it (capped)
        self.reasons: list[str] = []

    def add(self, reason: str, yielded: int, last_t_s: float | None, bad_t_s: float) -> None:
        """Record one incident; ``bad_t_s`` is the earliest time it may have damaged."""
        if self.count == 0:
            self.yielded_before, self.last_before_t_s = yielded, last_t_s
        self.count += 1
        self.earliest_t_s = min(self.earliest_t_s, bad_t_s)
        if reason not in self.reasons and len(self.reasons) < 8:
            self.reasons.append(reason)
            log.debug("damage: %s", reason)

    def withheld(self, t_s: float) -> None:
        """A decoded picture dropped because it may depend on damaged data."""
        self.earliest_t_s = min(self.earliest_t_s, t_s)

    def yielded_late(self, t_s: float) -> None:
        """A frame yielded after the first incident (intact: decoded from sound data)."""
        if len(self.later_t_s) < 4096:  # later ones lie far beyond the damage
            self.later_t_s.append(t_s)

    def start_t_s(self) -> float:
        """Where the damage starts: the earliest lost, damaged or withheld picture, or just
        after the last intact frame before it when a picture is missing in between (one
        that was never decoded, e.g. a B-frame stored after the cut-off packet)."""
        earliest = self.earliest_t_s
        before = [t for t in self.later_t_s if t < earliest]
        if self.last_before_t_s is not None and self.last_before_t_s < earliest:
            before.append(self.last_before_t_s)
        if not before:
            return 0.0
        last_ok = max(before)
        if earliest - last_ok > 1.5 * self.interval_s:
            earliest = last_ok + self.interval_s
        return round(earliest, 6)

    def frames_ok(self) -> int:
        """Frames yielded with a time before the damage."""
        first_bad = self.start_t_s()
        return self.yielded_before + sum(1 for t in self.later_t_s if t < first_bad - 1e-9)


class _Clock:
    """Frame times in seconds from the container's timestamps (internal).

    Uses pts, or dts for AVI: AVI stores no presentation times, FFmpeg's demuxer numbers
    the chunks in decode order and guesses pts, wrongly for B-frames (out of order by up to
    3 frames in bgslibrary's MPEG-4 AVI), while the dts of each decoded frame is the chunk
    clock. A frame whose timestamp is missing, or not later than the last one, gets the
    last time plus one frame interval per frame in between, so ``t_s`` always increases.
    """

    __slots__ = (
        "base_t_s",
        "den",
        "faults",
        "interval_s",
        "last_duration",
        "last_index",
        "last_t_s",
        "last_ts",
        "num",
        "origin",
        "use_dts",
    )

    def __init__(self, time_base: Fraction, interval_s: float, use_dts: bool) -> None:
        self.num, self.den = time_base.numerator, time_base.denominator
        self.interval_s = interval_s
        self.use_dts = use_dts
        self.origin: int | None = None  # the timestamp at base_t_s
        self.base_t_s = 0.0
        self.last_ts: int | None = None  # the latest timestamp used
        self.last_duration = 0  # that frame's duration, in time_base
        self.last_index = -1
        self.last_t_s = -interval_s
        self.faults = 0

    def frame_t_s(self, index: int, pts: int | None, dts: int | None, duration: int) -> float:
        """The time of decoded frame number ``index``."""
        ts = dts if self.use_dts else pts
        if ts is None:
            ts = pts if self.use_dts else dts
        t_s = self.last_t_s + (index - self.last_index) * self.interval_s
        if ts is not None and (self.last_ts is None or ts > self.last_ts):
            if self.origin is None:
                self.origin, self.base_t_s = ts, max(t_s, 0.0)
            from_ts = self.base_t_s + (ts - self.origin) * self.num / self.den
            if from_ts > self.last_t_s:
                t_s = from_ts
                self.last_ts, self.last_duration = ts, duration
            else:
                self.faults += 1
        elif ts is not None:
            self.faults += 1
        self.last_index, self.last_t_s = index, t_s
        return t_s

    def packet_t_s(self, packet: av.Packet) -> float | None:
        """A packet's timestamp on the same clock, None before the first frame."""
        ts = packet.dts if self.use_dts else packet.pts
        if ts is None or self.origin is None:
            return None
        return self.base_t_s + (ts - self.origin) * self.num / self.den


class VideoSource:
    """An opened video file: ``info``, then one pass of ``frames()``, then ``damage``.

    Use ``open_video`` to make one, as a context manager so the file is closed.
    """

    def __init__(
        self,
        path: Path,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        info: VideoInfo,
    ) -> None:
        self.info = info
        self._path = path
        self._container = container
        self._stream = stream
        self._started = False
        self._finished = False
        self._damage: StreamDamage | None = None
        self._clock = _Clock(info.time_base, 1.0 / info.fps, info.format_name == _AVI_FORMAT)
        self._direct_luma: dict[str, bool] = {}

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file; further iteration is impossible."""
        self._container.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- results after iteration -------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once ``frames()`` has run to the end of the file (or of what was readable)."""
        return self._finished

    @property
    def damage(self) -> StreamDamage | None:
        """None when the whole video was read intact, else where and why it broke.

        Raises ``RuntimeError`` before ``frames()`` has been exhausted: a partial read must
        never look like a complete one.
        """
        if not self._finished:
            raise RuntimeError(
                f"{self._path}: damage is known only after frames() has run to the end"
            )
        return self._damage

    @property
    def complete(self) -> bool:
        """True when ``frames()`` ran to the end and found no damage (raises before that)."""
        return self.damage is None

    def raise_if_damaged(self) -> None:
        """Raise ``StreamDamagedError`` (carrying the ``StreamDamage``) if the video broke."""
        damage = self.damage
        if damage is not None:
            raise StreamDamagedError(damage)

    def packet_t_s(self, packet: av.Packet) -> float | None:
        """Where ``packet`` lies on the ``Frame.t_s`` clock (pts, or dts for AVI), in seconds;
        None before the first frame is decoded or when the packet has no timestamp. For
        cutting evidence out of the packets passed to ``on_packet``."""
        return self._clock.packet_t_s(packet)

    # -- iteration -----------------------------------------------------------------------------

    def frames(
        self,
        *,
        on_packet: Callable[[av.Packet], None] | None = None,
        fast_decode: bool = True,
        resume_after_damage: bool = True,
    ) -> Iterator[Frame]:
        """Decode the video stream once, yielding intact frames in presentation order.

        ``on_packet`` is called with every demuxed video packet (encoded data, in demux
        order, before it is decoded; not with the empty flush packet at the end) and must be
        cheap. ``fast_decode`` sets the decoder's ``skip_loop_filter=all`` (about a fifth
        less decode CPU for H.264; pictures differ from a player's by a few grey levels at
        block edges); False decodes exactly as a player does. Decoding uses frame and slice
        threads.

        Frames before the first keyframe (a recording that starts mid-GOP) are dropped
        silently: they cannot be decoded and are not damage. Damage never raises here: the
        damaged pictures, and those that may depend on them, are dropped and recorded in
        ``damage``. With ``resume_after_damage`` (default) yielding resumes at the next
        keyframe; otherwise reading stops at the first damage (the intact pictures still
        inside the decoder are delivered first). Can be called once per source; ``damage``
        is known once the iterator is exhausted.
        """
        if self._started:
            raise RuntimeError(f"{self._path}: frames() can be called only once per source")
        self._started = True
        return self._iterate(on_packet, fast_decode, resume_after_damage)

    def _feed(
        self, on_packet: Callable[[av.Packet], None] | None, read_errors: list[str]
    ) -> Iterator[tuple[av.Packet | None, bool]]:
        """Demuxed packets as ``(packet, is_last_data_packet)``, with one packet of look-ahead.

        Ends with PyAV's flush packet, or with ``None`` after a read error (to drain the
        decoder); the read error is appended to ``read_errors`` instead of raised.
        """
        demux = self._container.demux(self._stream)

        def pull() -> av.Packet | None:
            try:
                packet = next(demux)
            except StopIteration:
                return None
            except av.error.FFmpegError as exc:
                read_errors.append(f"read error ({type(exc).__name__}: {exc.strerror or exc})")
                return None
            if on_packet is not None and packet.size:
                on_packet(packet)
            return packet

        current = pull()
        flushed = False
        while current is not None:
            following = pull()
            if current.size:
                last = following is None or (following.size == 0 and following.pts is None)
                yield current, last
            elif current.pts is None and following is None:
                flushed = True  # PyAV's flush packet, always last
                yield current, False
            current = following
        if not flushed:
            yield None, False

    def _iterate(
        self,
        on_packet: Callable[[av.Packet], None] | None,
        fast_decode: bool,
        resume_after_damage: bool,
    ) -> Iterator[Frame]:
        info = self.info
        stream = self._stream
        stream.thread_type = "AUTO"
        if fast_decode:
            codec = stream.codec_context
            codec.options = {**codec.options, "skip_loop_filter": "all"}
        interval_s = 1.0 / info.fps
        resync_cap = max(250, int(_RESYNC_SECONDS * info.fps))
        check_zero_runs = _length_prefixed_nal(stream)
        tail_truncated = None
        if info.format_name == _TS_FORMAT:
            tail_truncated = _ts_tail_truncated(self._path, stream.id)

        damage = _DamageLog(interval_s)
        read_errors: list[str] = []
        decoded = 0  # frames the decoder produced (Frame.index)
        yielded = 0
        dropped_leading = 0  # before the first keyframe: not damage
        dropped_damaged = 0
        waiting_for_key = True  # drop frames until a keyframe decodes
        waited = 0
        clock = self._clock
        last_t_s: float | None = None  # t of the last frame yielded
        inflight: set[int] = set()  # pts of packets sent to the decoder, frame not out yet
        trusted: set[int] = set()  # of those, the ones sent before a lost packet

        for packet, last_data in self._feed(on_packet, read_errors):
            after_last_s = 0.0 if last_t_s is None else last_t_s + interval_s
            stopping = damage.count > 0 and not resume_after_damage
            if stopping:  # read no further; drain the intact frames still in the decoder
                packet, last_data = None, False
            frames_out: list[av.VideoFrame] = []
            lost: str | None = None
            if packet is not None and packet.is_corrupt:
                lost = "packet flagged corrupt by the demuxer (lost or damaged bytes)"
            elif last_data and tail_truncated:
                lost = tail_truncated
            elif check_zero_runs and packet is not None and _ZERO_RUN in bytes(packet):
                lost = (
                    f"a packet holds a run of zero bytes, impossible in valid "
                    f"{info.codec_name} (overwritten data)"
                )
            if lost is not None:
                # This packet is not decoded. Frames still inside the decoder came from the
                # packets before it and are intact: they are yielded as they come out.
                assert packet is not None
                packet_t_s = clock.packet_t_s(packet)
                bad_t_s = after_last_s if packet_t_s is None else packet_t_s
                damage.add(lost, yielded, last_t_s, bad_t_s)
                if not waiting_for_key:
                    trusted = set(inflight)
                waiting_for_key = True
            else:
                if packet is not None and packet.pts is not None:
                    if len(inflight) > 512:  # pts that never came out (dropped by the codec)
                        inflight.clear()
                    inflight.add(packet.pts)
                try:
                    frames_out = stream.decode(packet)
                except av.error.FFmpegError as exc:
                    reason = f"decoder error ({type(exc).__name__}: {exc.strerror or exc})"
                    damage.add(reason, yielded, last_t_s, after_last_s)
                    waiting_for_key = True

            for vf in frames_out:
                index = decoded
                decoded += 1
                pts = vf.pts
                t_s = clock.frame_t_s(index, pts, vf.dts, vf.duration)
                late_intact = False
                if pts is not None:
                    inflight.discard(pts)
                    if trusted and pts in trusted:
                        trusted.discard(pts)
                        late_intact = True
                if vf.is_corrupt:
                    damage.add(
                        "decoder reported errors in a picture (concealed)", yielded, last_t_s, t_s
                    )
                    waiting_for_key = True
                    dropped_damaged += 1
                    continue
                if not late_intact and (waiting_for_key or stopping):
                    if stopping or (not vf.key_frame and waited < resync_cap):
                        waited += 1
                        if damage.count:
                            damage.withheld(t_s)
                            dropped_damaged += 1
                        else:
                            dropped_leading += 1
                        continue
                    if not vf.key_frame:
                        log.warning(
                            "%s: no keyframe in %d frames; yielding frames from index %d on",
                            self._path,
                            waited,
                            index,
                        )
                    waiting_for_key = False
                    waited = 0
                yield Frame(index, t_s, self._luma(vf), bool(vf.key_frame), pts)
                yielded += 1
                last_t_s = t_s
                if damage.count:
                    damage.yielded_late(t_s)
            if stopping:
                break

        after_last_s = 0.0 if last_t_s is None else last_t_s + interval_s
        for reason in read_errors:
            damage.add(reason, yielded, last_t_s, after_last_s)
        if dropped_leading:
            log.info("%s: dropped %d frames before the first keyframe", self._path, dropped_leading)
        if clock.faults:
            log.info("%s: %d frames had no usable timestamp", self._path, clock.faults)
        if clock.last_ts is not None:
            shortfall = _declared_end_shortfall(
                self._container, stream, info, clock.last_ts, clock.last_duration
            )
            if shortfall is not None:
                damage.add(shortfall, yielded, last_t_s, after_last_s)
        if not damage.count and yielded == 0:
            damage.add(f"no intact frame could be decoded ({decoded} decoded)", 0, None, 0.0)
        if damage.count:
            self._damage = self._make_damage(damage, yielded, dropped_damaged)
            log.warning("%s", self._damage.message)
        self._finished = True

    def _make_damage(self, damage: _DamageLog, yielded: int, dropped: int) -> StreamDamage:
        first = damage.start_t_s()
        frames_ok = damage.frames_ok()
        after = yielded - frames_ok
        message = (
            f"{self._path}: video damaged from t={first:.3f} s (expected an intact stream to "
            f"its end): {'; '.join(damage.reasons)}. Delivered {frames_ok} intact "
            "frames before the damage"
            + (f" and {after} intact frames after it" if after else "")
            + f"; {dropped} damaged frames dropped"
        )
        if after and self.info.format_name == _AVI_FORMAT:
            message += " (AVI numbers frames by position: times after the damage may be shifted)"
        return StreamDamage(
            path=self._path,
            first_bad_t_s=first,
            frames_ok=frames_ok,
            frames_after=after,
            frames_dropped=dropped,
            reasons=tuple(damage.reasons),
            message=message,
        )

    def _luma(self, vf: av.VideoFrame) -> np.ndarray:
        """The Y plane of ``vf`` as a read-only (H, W) uint8 array, a view where possible."""
        name = vf.format.name
        direct = self._direct_luma.get(name)
        if direct is None:
            direct = self._direct_luma[name] = _plane0_is_luma8(vf.format)
            if not direct:
                log.info("%s: pixel format %s is converted to gray", self._path, name)
        if not direct:
            vf = vf.reformat(format="gray")
        plane = vf.planes[0]
        width, height, stride = vf.width, vf.height, plane.line_size
        if stride < width:  # bottom-up rows (negative line size): let PyAV copy them
            luma = vf.to_ndarray()[:height, :width]
        else:
            luma = np.ndarray((height, width), np.uint8, memoryview(plane), strides=(stride, 1))
        luma.flags.writeable = False
        return luma


def _length_prefixed_nal(stream: av.video.stream.VideoStream) -> bool:
    """True for H.264/HEVC stored as length-prefixed NAL units (avcC/hvcC extradata)."""
    extradata = stream.codec_context.extradata or b""
    return stream.codec_context.name in ("h264", "hevc") and extradata[:1] == b"\x01"


def _plane0_is_luma8(fmt: av.VideoFormat) -> bool:
    """True when plane 0 of ``fmt`` is a plain 8-bit luma plane (YUV planar/semi-planar, gray)."""
    comps = fmt.components
    if fmt.is_rgb or fmt.has_palette or fmt.is_bayer or not comps:
        return False
    first = comps[0]
    if not first.is_luma or first.bits != 8 or first.plane != 0:
        return False
    return all(c.plane != 0 for c in comps[1:])


def _ts_tail_truncated(path: Path, pid: int) -> str | None:
    """For an MPEG-TS file: why its last video picture is incomplete, or None if it is not.

    Two checks on the bytes, since FFmpeg's demuxer passes a cut-off last PES on silently:

    - the file size is not a whole number of TS packets (188, or 192 for M2TS, or 204):
      the writer stopped inside a packet;
    - the last TS packet of the video PID (``pid``) is full of payload. A PES that ends
      inside a packet must fill it with adaptation-field stuffing, so a full last packet
      means the file stops inside the PES. Caveat: an intact file whose last picture ends
      exactly on a packet boundary looks the same (10 to 13 of 1499 pictures, about 0.8%,
      in FFmpeg-written H.264 TS); such a file is reported incomplete, losing only its last
      picture and its "complete" flag. Not reporting it would pass about half of all TS
      files cut at a packet boundary as complete.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8 * 204 + 8)
            layout = _ts_layout(head)
            if layout is None:
                return None
            packet_size, start, prefix = layout
            rest = (size - start) % packet_size
            if rest:
                return (
                    f"the file ends inside a TS packet ({size} bytes is not a whole number of "
                    f"{packet_size}-byte packets: {rest} bytes left over), so the last picture "
                    "is incomplete"
                )
            count = min((size - start) // packet_size, 2048)
            fh.seek(size - count * packet_size)
            tail = fh.read(count * packet_size)
    except OSError:
        return None
    for k in range(count - 1, -1, -1):
        ts = tail[k * packet_size + prefix : k * packet_size + prefix + 188]
        if len(ts) < 188 or ts[0] != 0x47 or ((ts[1] & 0x1F) << 8 | ts[2]) != pid:
            continue
        control = (ts[3] >> 4) & 3
        if control == 1:  # payload only, 184 bytes: no room for stuffing
            return (
                f"the last TS packet of the video stream (PID {pid}) is full of payload with "
                "no end-of-picture stuffing, so the file stops inside the last picture"
            )
        if control == 3 and _ts_stuffing(ts) == 0:  # adaptation field (e.g. PCR), no stuffing
            return (
                f"the last TS packet of the video stream (PID {pid}) carries no "
                "end-of-picture stuffing, so the file stops inside the last picture"
            )
        return None
    return None


def _ts_stuffing(ts: bytes) -> int:
    """Stuffing bytes in the adaptation field of one 188-byte TS packet (-1 if malformed)."""
    length = ts[4]
    if length == 0:
        return 1  # a bare length byte: one byte of padding
    flags = ts[5]
    pos = 6 + (6 if flags & 0x10 else 0) + (6 if flags & 0x08 else 0) + (1 if flags & 0x04 else 0)
    if flags & 0x02 and pos < 188:  # transport private data
        pos += 1 + ts[pos]
    if flags & 0x01 and pos < 188:  # adaptation field extension
        pos += 1 + ts[pos]
    stuffing = 5 + length - pos
    return stuffing if stuffing >= 0 else -1


def _ts_layout(head: bytes) -> tuple[int, int, int] | None:
    """``(packet_size, first_packet_offset, sync_offset_in_packet)`` from the first bytes."""
    for packet_size, prefix in ((188, 0), (192, 4), (204, 0)):
        for offset in range(prefix, prefix + packet_size):
            if offset + 4 * packet_size >= len(head):
                break
            if all(head[offset + k * packet_size] == 0x47 for k in range(5)):
                return packet_size, offset - prefix, prefix
    return None


def _declared_end_shortfall(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    last_ts: int,
    last_duration: int,
) -> str | None:
    """A reason string when the last decoded frame ends well before the declared duration.

    Applies to containers that state the duration: MP4 (track duration), Matroska (track
    ``DURATION`` tag, else the segment duration of a single-stream file), AVI (frame count
    in the header). Others (MPEG-TS, raw streams) estimate it from the timestamps present,
    so there it proves nothing.
    """
    tb = info.time_base
    start_pts = stream.start_time or 0
    declared_s: float | None = None  # declared end, absolute stream time
    fmt = info.format_name
    if fmt == _MP4_FORMAT and stream.duration:
        declared_s = float((start_pts + stream.duration) * tb)
    elif fmt == _AVI_FORMAT:
        length = max(stream.duration or 0, stream.frames or 0)
        if length:
            declared_s = float((start_pts + length) * tb)
    elif fmt == _MKV_FORMAT:
        tag = _parse_mkv_duration(stream.metadata.get("DURATION"))
        if tag is not None:
            declared_s = float(start_pts * tb) + tag
        elif len(container.streams) == 1 and container.duration:
            declared_s = ((container.start_time or 0) + container.duration) / 1e6
    if declared_s is None:
        return None
    end_s = float(last_ts * tb) + (float(last_duration * tb) if last_duration else 1 / info.fps)
    if declared_s - end_s <= _SHORTFALL_FRAMES / info.fps:
        return None
    start_s = float(start_pts * tb)
    return (
        f"stream ends early: the container declares {declared_s - start_s:.3f} s but the last "
        f"decodable frame ends at {end_s - start_s:.3f} s (data cut off or unreadable)"
    )


def _parse_mkv_duration(value: str | None) -> float | None:
    """Seconds from a Matroska ``DURATION`` tag such as ``00:01:02.500000000``."""
    if not value:
        return None
    match = _MKV_DURATION.match(value.strip())
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _parse_creation_time(value: str | None, path: Path) -> datetime | None:
    """An aware UTC datetime from a container ``creation_time`` tag, None if absent/unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        log.warning("%s: creation_time %r is not an ISO 8601 time; ignored", path, value)
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _describe_unreadable(path: Path) -> str:
    """Say what the file holds when FFmpeg cannot open it as a video (for the error message)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if size == 0:
        return "an empty file (0 bytes)"
    if len(head) >= 8 and head[4:8] in _MP4_BOX_TYPES:
        return _describe_mp4(path, size)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return f"a text file, not a video (it starts with {text[:40]!r})"
    return f"no container format FFmpeg knows (it starts with bytes {head[:8].hex(' ')})"


def _describe_mp4(path: Path, size: int) -> str:
    """Walk the top-level MP4 boxes to tell a missing/truncated index from other damage."""
    boxes: list[str] = []
    overrun = ""
    with path.open("rb") as fh:
        offset = 0
        while offset + 8 <= size and len(boxes) < 64:
            fh.seek(offset)
            header = fh.read(16)
            box_size = int.from_bytes(header[0:4], "big")
            box_type = header[4:8].decode("latin-1")
            if box_size == 1 and len(header) >= 16:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                box_size = size - offset
            boxes.append(box_type)
            if box_size < 8:
                break
            if offset + box_size > size:
                overrun = (
                    f"its '{box_type}' box declares {box_size} bytes from offset {offset} "
                    f"but the file ends after {size - offset}"
                )
                break
            offset += box_size
    found = ", ".join(boxes) or "none"
    if "moov" not in boxes:
        return (
            "an incomplete MP4: it has no index (no 'moov' box; top-level boxes: "
            f"{found}{'; ' + overrun if overrun else ''}), so the recording was cut off "
            "before it was finalised and nothing can be decoded"
        )
    if overrun:
        return f"a truncated MP4: {overrun}"
    return f"an MP4 FFmpeg cannot read (top-level boxes: {found})"


def _pick_fps(stream: av.video.stream.VideoStream, path: Path) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and 0 < float(rate) < 1000:
            return float(rate)
    log.warning("%s: the video states no frame rate; assuming 25 fps", path)
    return 25.0


def open_video(path: str | os.PathLike[str]) -> VideoSource:
    """Open a video file and describe its video stream (use as a context manager).

    Raises ``SourceError`` (naming the file, saying what was expected and what was found)
    when the file is missing, is not a video FFmpeg can read, is an MP4 without its index
    (recording cut off before the ``moov`` box was written), has no video stream, or has a
    video stream that cannot be decoded.
    """
    p = Path(path)
    if not p.exists():
        raise SourceError(f"{p}: no such file (expected a video file)")
    if not p.is_file():
        raise SourceError(f"{p}: not a regular file (expected a video file)")
    try:
        container = av.open(str(p), mode="r")
    except av.error.FFmpegError as exc:
        raise SourceError(
            f"{p}: cannot be opened as a video (expected a video container such as MP4, "
            f"Matroska, AVI or MPEG-TS), found {_describe_unreadable(p)}; "
            f"FFmpeg says: {exc.strerror or exc}"
        ) from exc
    try:
        stream = container.streams.best("video")
        if stream is None or not isinstance(stream, av.video.stream.VideoStream):
            kinds = ", ".join(s.type for s in container.streams) or "no streams at all"
            raise SourceError(f"{p}: has no video stream (expected one; found {kinds})")
        codec = stream.codec_context
        if codec is None or not codec.is_decoder:
            raise SourceError(
                f"{p}: no decoder for its video stream (expected a codec FFmpeg can decode, "
                f"found {getattr(codec, 'name', 'an unknown codec')!r})"
            )
        if not stream.width or not stream.height:
            raise SourceError(
                f"{p}: video stream {stream.index} ({codec.name}) has no picture size; "
                "FFmpeg could not read its codec parameters (expected a decodable stream)"
            )
        info = _make_info(p, container, stream)
    except BaseException:
        container.close()
        raise
    log.debug("%s: %s", p, info)
    return VideoSource(p, container, stream, info)


def _make_info(
    path: Path, container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> VideoInfo:
    fps = _pick_fps(stream, path)
    time_base = stream.time_base if stream.time_base is not None else Fraction(1, 90_000)
    duration_s: float | None = None
    if stream.duration:
        duration_s = float(stream.duration * time_base)
    elif container.duration:
        duration_s = container.duration / 1_000_000
    frames = int(stream.frames or 0)
    if frames == 0 and duration_s:
        frames = round(duration_s * fps)
    creation = container.metadata.get("creation_time") or stream.metadata.get("creation_time")
    codec = stream.codec_context
    return VideoInfo(
        path=path,
        format_name=container.format.name,
        codec_name=codec.name,
        width=stream.width,
        height=stream.height,
        fps=fps,
        frames=frames,
        duration_s=duration_s,
        time_base=time_base,
        creation_time=_parse_creation_time(creation, path),
        has_timestamps=not container.format.flags & _AVFMT_NOTIMESTAMPS,
        pixel_format=codec.pix_fmt or "",
    )
