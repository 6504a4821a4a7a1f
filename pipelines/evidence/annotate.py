"""The annotated clip and the stroboscopic snapshot, made in one decoding pass of the original.

``render_views(original, annotated_path, snapshot_path, view)`` decodes the original clip
(the camera's own packets) once and

- re-encodes it as browser-playable H.264 MP4 (libx264 ``ultrafast``, yuv420p, ``+faststart``;
  frames larger than 1920x1080 are scaled down to fit) with, burned into every frame: the
  trajectory as it grows, the release point and its floor (with the storey's band on the
  facade when the camera is calibrated), the camera id, and the frame's UTC time and stream
  time;
- composes one JPEG: a frame from just before the first sighting with the object's pixels
  at up to ``STROBE_MAX`` sightings (spaced so that they do not overlap; the first and the
  last always) pasted in along its path (a stroboscopic picture), the path, the release
  point, the floor and the time span.

Pictures are BGR ``(H, W, 3)`` uint8 arrays; points are ``[x_px, y_px]`` in the original
video's pixels; times are ``Frame.t_s`` seconds (the clock of ``pipelines.sources``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import av.error
import cv2
import numpy as np

from detector.calibration import FacadeCalibration
from pipelines.evidence.files import format_utc
from pipelines.evidence.original import EvidenceError

log = logging.getLogger(__name__)

__all__ = ["EventView", "ViewRenderer", "render_views"]

MAX_W, MAX_H = 1920, 1080
STROBE_MAX = 16
_PATH = (0, 215, 255)  # BGR: amber
_NOW = (0, 0, 255)
_ORIGIN = (255, 64, 255)
_FLOOR = (80, 220, 80)
_TEXT = (255, 255, 255)


@dataclass
class EventView:
    """What is drawn for one event.

    ``trajectory``: (N, 3) float rows ``[t_s, x_px, y_px]``; ``origin``: ``(t_s, x_px, y_px)``
    and ``floor`` (None without calibration); ``utc_of`` maps ``t_s`` to UTC;
    ``first_t_s``: the ``t_s`` of the clip's first presented picture.
    """

    camera_id: str
    trajectory: np.ndarray
    origin: tuple[float, float, float]
    floor: int | None
    utc_of: Callable[[float], datetime]
    first_t_s: float
    fps: float
    calibration: FacadeCalibration | None = None
    event_id: str = ""


def _fit(width: int, height: int) -> tuple[int, int, float]:
    """Output size (even, at most MAX_W x MAX_H) and the scale from input pixels."""
    s = min(1.0, MAX_W / width, MAX_H / height)
    w, h = max(2, int(width * s) // 2 * 2), max(2, int(height * s) // 2 * 2)
    return w, h, s


def _yuv(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    """A BGR colour in BT.601 limited-range Y, U, V."""
    b, g, r = bgr
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return round(y), round(u), round(v)


def _label(img: np.ndarray, text: str, org: tuple[int, int], scale: float,
           color: tuple[int, int, int]) -> None:
    """Text on a BGR picture with a dark outline, so it reads on sky and on wall alike.

    The outline is the glyphs' mask grown by a pixel (a thicker ``putText`` would also
    space the letters wider, and the outline would drift from the text)."""
    thick = max(1, round(scale * 2))
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.putText(mask, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
    fill = mask.astype(np.float32)[..., None] / 255
    edge = cv2.dilate(mask, np.ones((3, 3), np.uint8)).astype(np.float32)[..., None] / 255
    out = img.astype(np.float32) * (1 - edge)
    out = out * (1 - fill) + np.array(color, np.float32) * fill
    img[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


class _BGRCanvas:
    """Drawing on a BGR picture, (H, W, 3) uint8."""

    def __init__(self, img: np.ndarray) -> None:
        self.img = img
        self.height = img.shape[0]

    def line(self, p: tuple[int, int], q: tuple[int, int], color: tuple[int, int, int],
             thick: int) -> None:
        cv2.line(self.img, p, q, color, thick, cv2.LINE_AA)

    def polyline(self, pts: np.ndarray, color: tuple[int, int, int], thick: int) -> None:
        cv2.polylines(self.img, [pts.reshape(-1, 1, 2)], False, color, thick, cv2.LINE_AA)

    def circle(self, c: tuple[int, int], r: int, color: tuple[int, int, int],
               thick: int) -> None:
        cv2.circle(self.img, c, r, color, thick, cv2.LINE_AA)

    def marker(self, c: tuple[int, int], color: tuple[int, int, int], size: int,
               thick: int) -> None:
        cv2.drawMarker(self.img, c, color, cv2.MARKER_TILTED_CROSS, size, thick, cv2.LINE_AA)

    def label(self, text: str, org: tuple[int, int], scale: float,
              color: tuple[int, int, int]) -> None:
        _label(self.img, text, org, scale, color)


class _I420Canvas:
    """Drawing straight on a decoded yuv420p picture, ``(H * 3 // 2, W)`` uint8 (Y plane,
    then U and V at half resolution), so no frame is converted to BGR and back: luma at
    full resolution, chroma at half coordinates."""

    def __init__(self, arr: np.ndarray, width: int, height: int) -> None:
        flat = arr.reshape(-1)
        n = width * height
        self.y = flat[:n].reshape(height, width)
        self.u = flat[n : n + n // 4].reshape(height // 2, width // 2)
        self.v = flat[n + n // 4 : n + n // 2].reshape(height // 2, width // 2)
        self.height = height

    def _each(self, draw: Callable[[np.ndarray, int, float], object],
              color: tuple[int, int, int]) -> None:
        y, u, v = _yuv(color)
        draw(self.y, y, 1.0)
        draw(self.u, u, 0.5)
        draw(self.v, v, 0.5)

    @staticmethod
    def _pt(p: tuple[int, int], k: float) -> tuple[int, int]:
        return (int(p[0] * k), int(p[1] * k))

    @staticmethod
    def _th(t: int, k: float) -> int:
        return t if t < 0 else max(1, round(t * k))

    def line(self, p: tuple[int, int], q: tuple[int, int], color: tuple[int, int, int],
             thick: int) -> None:
        self._each(lambda img, c, k: cv2.line(img, self._pt(p, k), self._pt(q, k), c,
                                              self._th(thick, k), cv2.LINE_AA), color)

    def polyline(self, pts: np.ndarray, color: tuple[int, int, int], thick: int) -> None:
        self._each(lambda img, c, k: cv2.polylines(
            img, [(pts * k).astype(np.int32).reshape(-1, 1, 2)], False, c,
            self._th(thick, k), cv2.LINE_AA), color)

    def circle(self, c: tuple[int, int], r: int, color: tuple[int, int, int],
               thick: int) -> None:
        self._each(lambda img, v, k: cv2.circle(img, self._pt(c, k), max(1, round(r * k)), v,
                                                self._th(thick, k), cv2.LINE_AA), color)

    def marker(self, c: tuple[int, int], color: tuple[int, int, int], size: int,
               thick: int) -> None:
        self._each(lambda img, v, k: cv2.drawMarker(
            img, self._pt(c, k), v, cv2.MARKER_TILTED_CROSS, max(2, round(size * k)),
            self._th(thick, k), cv2.LINE_AA), color)

    def label(self, text: str, org: tuple[int, int], scale: float,
              color: tuple[int, int, int]) -> None:
        """Text is drawn in BGR on a small even-aligned box around it (glyphs drawn at half
        size on the chroma planes would not line up with the luma ones)."""
        thick = max(1, round(scale * 2))
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        hh, ww = self.y.shape
        x0, y0 = max(0, (org[0] - 4) // 2 * 2), max(0, (org[1] - th - 4) // 2 * 2)
        x1 = min(ww, (org[0] + tw + 5) // 2 * 2 + 2) // 2 * 2
        y1 = min(hh, (org[1] + base + 5) // 2 * 2 + 2) // 2 * 2
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        bw, bh = x1 - x0, y1 - y0
        box = np.concatenate([self.y[y0:y1, x0:x1].reshape(-1),
                              self.u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2].reshape(-1),
                              self.v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2].reshape(-1)])
        bgr = np.ascontiguousarray(
            cv2.cvtColor(box.reshape(bh * 3 // 2, bw), cv2.COLOR_YUV2BGR_I420))
        _label(bgr, text, (org[0] - x0, org[1] - y0), scale, color)
        back = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).reshape(-1)
        n = bw * bh
        self.y[y0:y1, x0:x1] = back[:n].reshape(bh, bw)
        self.u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = back[n : n + n // 4].reshape(bh // 2,
                                                                                 bw // 2)
        self.v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = back[n + n // 4 :].reshape(bh // 2,
                                                                               bw // 2)


Canvas = _BGRCanvas | _I420Canvas


def _text(cv: Canvas, text: str, org: tuple[int, int], scale: float,
          color: tuple[int, int, int] = _TEXT) -> None:
    cv.label(text, org, scale, color)


def _floor_band(cal: FacadeCalibration, floor: int, x_px: float, y_px: float,
                scale: float) -> list[np.ndarray]:
    """The lower and upper edges of ``floor`` on the wall near the release point, as
    (2, 2) int32 pixel segments (drawing coordinates)."""
    wall = cal.to_wall([[x_px, y_px]])[0]
    z0 = (floor - cal.first_floor) * cal.floor_height_m
    half = 2.5 * cal.floor_height_m
    segs = []
    for z in (z0, z0 + cal.floor_height_m):
        uv = cal.to_image([[wall[0] - half, z], [wall[0] + half, z]])
        if np.all(np.isfinite(uv)):
            segs.append(np.round(uv * scale).astype(np.int32))
    return segs


def _draw(cv: Canvas, view: EventView, t_s: float, scale: float, *,
          whole_path: bool, shapes: bool = True, text: bool = True) -> None:
    """Burn the event into a picture (drawing coordinates = input pixels x ``scale``):
    the ``shapes`` (floor band, release mark, path) and/or the ``text``."""
    h = cv.height
    ts = max(0.45, h / 1080 * 0.9)
    lw = max(2, round(h / 540))
    traj = view.trajectory
    half = 0.5 / view.fps
    shown = traj if whole_path else traj[traj[:, 0] <= t_s + half]
    _, ox, oy = view.origin
    o = (round(ox * scale), round(oy * scale))
    if shapes and view.calibration is not None and view.floor is not None:
        for seg in _floor_band(view.calibration, view.floor, ox, oy, scale):
            cv.line((int(seg[0, 0]), int(seg[0, 1])), (int(seg[1, 0]), int(seg[1, 1])),
                    _FLOOR, lw)
    if shapes:
        cv.marker(o, _ORIGIN, max(12, 8 * lw), lw + 1)
    if shapes and len(shown):
        pts = np.round(shown[:, 1:3] * scale).astype(np.int32)
        if len(pts) > 1:  # thin on the snapshot, so the pasted object stays visible
            cv.polyline(pts, _PATH, 1 if whole_path else lw)
        if not whole_path and abs(shown[-1, 0] - t_s) <= half:  # seen in this very frame
            cv.circle((int(pts[-1, 0]), int(pts[-1, 1])), 6 * lw, _NOW, lw)
    if not text:
        return
    label = "release" + (f", floor {view.floor}" if view.floor is not None else "")
    _text(cv, label, (o[0] + 8 * lw, max(o[1] - 6 * lw, 14)), ts * 0.8, _ORIGIN)
    y = round(34 * ts)
    _text(cv, view.camera_id, (10, y), ts)
    if whole_path:
        stamp = (f"{format_utc(view.utc_of(float(traj[0, 0])))} .. "
                 f"{format_utc(view.utc_of(float(traj[-1, 0])))[11:]}")
    else:
        stamp = f"{format_utc(view.utc_of(t_s))}  t={t_s:.3f} s"
    _text(cv, stamp, (10, y + round(36 * ts)), ts)
    if view.floor is not None:
        _text(cv, f"floor {view.floor}", (10, y + round(72 * ts)), ts, _ORIGIN)


class _Strobe:
    """Collects the snapshot's base picture and the object's patches during decoding."""

    def __init__(self, view: EventView) -> None:
        self.traj = view.trajectory
        self.half = 0.5 / view.fps
        self.start = float(self.traj[0, 0])
        self.base: np.ndarray | None = None
        self.wanted = self.traj[:0]
        self.r = 0
        self.patches: list[tuple[int, int, np.ndarray, np.ndarray]] = []

    def _pick(self, r: int) -> np.ndarray:
        """Sightings at least one patch apart (first and last always), at most STROBE_MAX:
        (K, 3) rows of the trajectory."""
        xy = self.traj[:, 1:3]
        spacing = 2 * r + 4
        keep = [0]
        for i in range(1, len(xy)):
            if np.hypot(*(xy[i] - xy[keep[-1]])) >= spacing:
                keep.append(i)
        last = len(xy) - 1
        if keep[-1] != last:
            if len(keep) > 1 and np.hypot(*(xy[last] - xy[keep[-1]])) < spacing:
                keep[-1] = last
            elif len(keep) == 1 or np.hypot(*(xy[last] - xy[keep[-1]])) >= spacing:
                keep.append(last)
        if len(keep) > STROBE_MAX:
            sub = np.linspace(0, len(keep) - 1, STROBE_MAX).round().astype(int)
            keep = [keep[i] for i in sub]
        return self.traj[np.unique(keep)]

    def take(self, i420: np.ndarray, w: int, h: int, t_s: float) -> None:
        """Look at one decoded picture, ``(h * 3 // 2, w)`` yuv420p, before drawing on it."""
        if self.base is None or t_s < self.start - self.half:
            self.base = i420.copy()  # the last picture before the first sighting
        if not self.r:
            self.r = max(8, round(h / 80))
            self.wanted = self._pick(self.r)
        r = self.r
        here = self.wanted[np.abs(self.wanted[:, 0] - t_s) <= self.half]
        if not len(here):
            return
        bgr = cv2.cvtColor(i420.reshape(h * 3 // 2, w), cv2.COLOR_YUV2BGR_I420)
        for _, x, y in here:
            x0, y0 = max(0, round(x) - r), max(0, round(y) - r)
            x1, y1 = min(w, round(x) + r + 1), min(h, round(y) + r + 1)
            if x1 <= x0 or y1 <= y0:
                continue
            mask = np.zeros((y1 - y0, x1 - x0), np.float32)
            cv2.circle(mask, (round(x) - x0, round(y) - y0), r, 1.0, -1, cv2.LINE_AA)
            self.patches.append((x0, y0, bgr[y0:y1, x0:x1].copy(), mask[..., None]))

    def compose(self, under: Callable[[np.ndarray], None],
                over: Callable[[np.ndarray], None]) -> np.ndarray:
        """The base picture, drawn on by ``under``, with every patch pasted over it (soft
        round edges) and ringed: the drawing never hides the object itself; then ``over``
        (the text) on top."""
        if self.base is None:
            raise ValueError("no picture decoded")
        base = np.asarray(cv2.cvtColor(self.base, cv2.COLOR_YUV2BGR_I420), dtype=np.uint8)
        under(base)
        out = base.astype(np.float32)
        for x0, y0, patch, mask in self.patches:
            h, w = patch.shape[:2]
            region = out[y0 : y0 + h, x0 : x0 + w]
            region[:] = region * (1 - mask) + patch.astype(np.float32) * mask
        pic = np.clip(out, 0, 255).astype(np.uint8)
        for x0, y0, patch, _ in self.patches:
            h, w = patch.shape[:2]
            r = max(h, w) // 2 + 2
            cv2.circle(pic, (x0 + w // 2, y0 + h // 2), r, _PATH, 1, cv2.LINE_AA)
        over(pic)
        return pic


def _resize_i420(arr: np.ndarray, w0: int, h0: int, w: int, h: int) -> np.ndarray:
    """A yuv420p picture ``(h0 * 3 // 2, w0)`` scaled to ``(h * 3 // 2, w)`` plane by plane."""
    src = _I420Canvas(arr, w0, h0)
    out = np.empty((h * 3 // 2, w), np.uint8)
    dst = _I420Canvas(out, w, h)
    for a, b in ((src.y, dst.y), (src.u, dst.u), (src.v, dst.v)):
        b[:] = cv2.resize(a, (b.shape[1], b.shape[0]), interpolation=cv2.INTER_AREA)
    return out


class ViewRenderer:
    """The annotated clip and the snapshot, fed one decoded picture at a time.

    ``add(frame, t_s)`` takes pictures in presentation order (any pixel format; ``t_s`` on
    the ``Frame.t_s`` clock); ``finish()`` completes ``annotated`` and ``snapshot`` (each
    written under ``.part`` and renamed) and returns the number of frames; ``abort()``
    removes what was started. Raises ``EvidenceError`` naming the file.
    """

    def __init__(self, annotated: Path, snapshot: Path, view: EventView, width: int,
                 height: int, *, crf: int = 23) -> None:
        self.annotated, self.snapshot, self.view = annotated, snapshot, view
        self.part = annotated.with_name(annotated.name + ".part")
        self.fw, self.fh = width // 2 * 2, height // 2 * 2  # even, for 4:2:0
        self.w, self.h, self.scale = _fit(self.fw, self.fh)
        self.strobe = _Strobe(view)
        self.frames = 0
        self._first: float | None = None
        self._last_pts = -1
        try:
            self.out = av.open(str(self.part), "w", format="mp4",
                               options={"movflags": "+faststart"})
            enc = self.out.add_stream("libx264",
                                      rate=Fraction(view.fps).limit_denominator(1001))
            enc.width, enc.height, enc.pix_fmt = self.w, self.h, "yuv420p"
            enc.codec_context.time_base = Fraction(1, 1000)
            enc.options = {"preset": "ultrafast", "crf": str(crf), "profile": "high"}
            self.enc = enc
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            self.part.unlink(missing_ok=True)
            raise EvidenceError(f"{annotated}: cannot start the annotated clip: {exc}") from exc

    def add(self, frame: av.VideoFrame, t_s: float) -> None:
        try:
            if self._first is None:
                self._first = t_s
            fw, fh, w, h = self.fw, self.fh, self.w, self.h
            if frame.format.name != "yuv420p" or frame.width != fw or frame.height != fh:
                frame = frame.reformat(width=fw, height=fh, format="yuv420p")
            raw = np.ascontiguousarray(frame.to_ndarray(), dtype=np.uint8)
            self.strobe.take(raw, fw, fh, t_s)
            pic = raw if self.scale == 1.0 else _resize_i420(raw, fw, fh, w, h)
            _draw(_I420Canvas(pic, w, h), self.view, t_s, self.scale, whole_path=False)
            vf = av.VideoFrame.from_ndarray(pic, format="yuv420p")
            pts = max(round((t_s - self._first) * 1000), self._last_pts + 1)
            vf.pts, vf.time_base, self._last_pts = pts, Fraction(1, 1000), pts
            for packet in self.enc.encode(vf):
                self.out.mux(packet)
            self.frames += 1
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            self.abort()
            raise EvidenceError(f"{self.annotated}: could not encode the annotated clip: "
                                f"{exc}") from exc

    def abort(self) -> None:
        try:
            self.out.close()
        except (av.error.FFmpegError, ValueError, OSError):
            pass
        self.part.unlink(missing_ok=True)

    def finish(self) -> int:
        try:
            for packet in self.enc.encode():
                self.out.mux(packet)
            self.out.close()
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            self.abort()
            raise EvidenceError(f"{self.annotated}: could not finish the annotated clip: "
                                f"{exc}") from exc
        if self.frames == 0:
            self.part.unlink(missing_ok=True)
            raise EvidenceError(f"{self.annotated}: no picture to annotate")
        self.part.replace(self.annotated)
        view = self.view
        t_last = float(view.trajectory[-1, 0])
        picture = self.strobe.compose(
            lambda img: _draw(_BGRCanvas(img), view, t_last, 1.0, whole_path=True,
                              text=False),
            lambda img: _draw(_BGRCanvas(img), view, t_last, 1.0, whole_path=True,
                              shapes=False))
        ok, jpeg = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise EvidenceError(f"{self.snapshot}: the JPEG encoder refused the picture")
        spart = self.snapshot.with_name(self.snapshot.name + ".part")
        spart.write_bytes(jpeg.tobytes())
        spart.replace(self.snapshot)
        return self.frames


def render_views(original: Path, annotated: Path, snapshot: Path, view: EventView,
                 *, crf: int = 23) -> int:
    """Decode ``original`` once; write ``annotated`` (H.264 MP4) and ``snapshot`` (JPEG).

    ``view.first_t_s`` is the ``t_s`` of the file's first picture. Returns the number of
    frames written. Raises ``EvidenceError`` naming the file that could not be made.
    """
    try:
        src = av.open(str(original))
    except (av.error.FFmpegError, OSError) as exc:
        raise EvidenceError(f"{annotated}: cannot read {original.name}: {exc}") from exc
    with src:
        stream = src.streams.video[0]
        stream.thread_type = "AUTO"
        renderer = ViewRenderer(annotated, snapshot, view, stream.width, stream.height,
                                crf=crf)
        first: float | None = None
        try:
            for frame in src.decode(stream):
                rel = frame.time if frame.time is not None else renderer.frames / view.fps
                if first is None:
                    first = rel
                renderer.add(frame, view.first_t_s + (rel - first))
        except av.error.FFmpegError as exc:
            renderer.abort()
            raise EvidenceError(f"{annotated}: could not decode {original.name}: "
                                f"{exc}") from exc
        except BaseException:
            renderer.abort()
            raise
    return renderer.finish()
