"""Background model: foreground mask of small moving things, with a global-change guard.

Per frame, on the working image (the luma shrunk by ``downscale`` with INTER_AREA):

0. *Stabiliser* (:meth:`BackgroundModel.stabilise`, called by the pipeline before
   :meth:`BackgroundModel.apply`): when the camera shakes, each frame is shifted back onto
   the background by the median optical flow of the background's corners.
1. *Illumination*: the block means of the frame are divided by the block means of the
   background (which are kept as their own running average: block-averaging commutes
   with the running average). When a block mean moved by more than ``_GAIN_GREY`` (a
   cloud, exposure drift), the ratio is smoothly upsampled and the frame divided by it;
   other frames skip this pass (quiet frames, small movers).
2. *Difference*: the background is a float running average (``background_tau_s``),
   compared in quarter grey levels (refreshed every ``noise_update_every`` frames). To
   ride out camera shake, the frame can be compared with the min and max of the background over
   ``shake_radius``: ``diff = max(f - max(B), min(B) - f, 0)``.
3. *Adaptive threshold*: a per-pixel running mean of ``|f - B|`` (the noise map, refreshed
   every few frames) gives ``thr = threshold_k * noise + threshold_min``; swaying
   leaves and flickering water raise their own threshold and nobody else's.
4. *Guard*: if too much of the frame is foreground at once (lights, IR switch, a big
   shake), the background is re-seeded from the current frame and the caller is told
   to ignore blobs for ``guard_blind_s``.
5. *Persistence*: while clutter (rain) holds the threshold's multiplier over
   ``persist_scale``, pixels over that lower multiple that were over it a frame before,
   within a pixel, are foreground too: a drop is elsewhere a frame later, an object
   just let go is not.

Only OpenCV/numpy kernels touch pixels. The per-frame passes are uint16 fixed point
(quarter grey levels; half the memory traffic of float32: at 960x540 the model is
memory-bound, not compute-bound); only the running averages are float32.
All images are ``(h, w)`` working-resolution.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from detector.config import DetectorConfig

log = logging.getLogger(__name__)

_KERNEL3 = np.ones((3, 3), np.uint8)
# a key-frame re-seed keeps the old background under moving objects only while they
# cover at most this share of the picture (key frames of generated day scenes: 0-30 of
# 230 400 working pixels over the bar; an infrared frame in rain: 2 652)
_KEEP_MAX_SHARE = 0.005
# frame and background are compared in uint16 fixed point with two fractional bits:
# thresholds sit at 2-4 grey levels, where whole grey levels are too coarse a step
QUANT = 4
_SHIFT = 2


def work_size(width: int, height: int, downscale: int) -> tuple[int, int]:
    """(w, h) of the working image for an input of ``width`` x ``height``."""
    return max(1, width // downscale), max(1, height // downscale)


def shrink(luma: np.ndarray, downscale: int, size: tuple[int, int]) -> np.ndarray:
    """(h, w) uint8 working image from the (H, W) uint8 input luma (INTER_AREA)."""
    if downscale == 1:
        return np.ascontiguousarray(luma)
    w, h = size
    src = luma[: h * downscale, : w * downscale]
    return cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA)


class SignedDiff:
    """``(frame - background) / scale`` in grey levels, computed only where it is looked at.

    Indexing (``sd[ys, xs]``, slices) returns float32 values; ``patch`` cuts a sub-pixel
    square around a point; ``full()`` gives the whole image.
    """

    __slots__ = ("background", "frame", "scale")

    def __init__(self, frame: np.ndarray, background: np.ndarray, scale: float = 1.0) -> None:
        self.frame = frame
        self.background = background
        self.scale = float(scale)

    def __getitem__(self, index: Any) -> np.ndarray:
        f = self.frame[index].astype(np.float32)
        d: np.ndarray = f - self.background[index].astype(np.float32)
        return d / np.float32(self.scale) if self.scale != 1.0 else d

    def full(self) -> np.ndarray:
        """(h, w) float32 signed difference."""
        return cv2.subtract(self.frame, self.background, dtype=cv2.CV_32F) / np.float32(
            self.scale)

    def patch(self, side: int, centre: tuple[float, float]) -> np.ndarray:
        """(side, side) float32 square centred at ``centre`` (x, y), sub-pixel, with the
        image's border replicated (as ``cv2.getRectSubPix``)."""
        h, w = self.frame.shape[:2]
        cx, cy = centre
        x0 = min(max(int(np.floor(cx - side / 2.0)) - 1, 0), w - 1)
        y0 = min(max(int(np.floor(cy - side / 2.0)) - 1, 0), h - 1)
        x1 = min(max(int(np.ceil(cx + side / 2.0)) + 2, x0 + 1), w)
        y1 = min(max(int(np.ceil(cy + side / 2.0)) + 2, y0 + 1), h)
        roi = self[y0:y1, x0:x1]
        return cv2.getRectSubPix(roi, (side, side), (cx - x0, cy - y0))


@dataclass
class Foreground:
    """What the background model says about one frame.

    Attributes:
        mask: (h, w) uint8, 255 where foreground.
        diff: (h, w) uint16, ``max(f - max(B), min(B) - f, 0)`` in quarter grey levels.
        thresh: (h, w) uint16, the per-pixel threshold (quarter grey levels): foreground
            where ``diff > thresh`` (where persistence added pixels, the lower threshold
            they passed).
        frame: (h, w) uint16 working image after the illumination correction (x4).
        background: (h, w) uint16 background it was compared with (x4).
        fraction: share of working pixels that are foreground.
        tripped: the global-change guard tripped on this frame (background re-seeded).
        blind: blobs of this frame should be ignored (warm-up or after the guard).
        corrected: the illumination correction was applied to this frame.
    """

    mask: np.ndarray
    diff: np.ndarray
    thresh: np.ndarray
    frame: np.ndarray
    background: np.ndarray
    fraction: float
    tripped: bool
    blind: bool
    corrected: bool = False

    @property
    def signed(self) -> SignedDiff:
        """``frame - background`` in grey levels (brighter > 0), evaluated where indexed."""
        return SignedDiff(self.frame, self.background, QUANT)


class BackgroundModel:
    """Running-average background with adaptive per-pixel threshold (working resolution).

    Args:
        size: (w, h) of the working image.
        fps: nominal frame rate, turns time constants into per-frame rates.
        config: detector configuration.
        persist: whether persistence under clutter may add foreground (``persist_scale``).
    """

    # the illumination correction runs when a block's mean moved by more than this many
    # grey levels from the background's: left out, it would change no pixel by more than
    # about twice that, well under any threshold
    _GAIN_GREY = 0.75

    def __init__(self, size: tuple[int, int], fps: float, config: DetectorConfig,
                 persist: bool = True) -> None:
        self.cfg = config
        self.persist = persist
        self.w, self.h = size
        self.fps = float(fps)
        self.alpha_bg = _alpha(config.background_tau_s, fps)
        self.alpha_noise = _alpha(config.noise_tau_s, fps / config.noise_update_every)
        blk = config.highpass_block
        if blk > 0 and self.w >= 2 * blk and self.h >= 2 * blk:
            self.block: int = blk
        else:
            self.block = 0
        self.thresh_scale = 1.0
        self.last_trip = -(10**9)
        self.frames = 0
        self.bg_frames = 0
        self.noise_updates = 0
        self.blind_frames_left = 0
        self._bg: np.ndarray | None = None  # float32 running average
        self._kept_seed = False  # the last seed kept moving objects out (see ``seed``)
        self._bg_blocks: np.ndarray | None = None
        shape = (self.h, self.w)
        u16 = np.uint16
        # the background, x QUANT, rounded; two buffers taking turns, so that the one a
        # frame was compared with stays intact while the next refresh writes the other
        self._bgq_spare = np.zeros(shape, u16)
        self._bgq = np.zeros(shape, u16)
        self._lo = np.zeros(shape, u16)
        self._hi = np.zeros(shape, u16)
        # per-pixel mean |f - B|, x QUANT
        self._noise = np.full(shape, config.noise_init * QUANT, np.float32)
        self._thresh = np.empty(shape, u16)
        self._refresh_thresh()
        # persistence under clutter (see :meth:`_persistent`): the lower threshold, this
        # frame's and the last frame's pixels over it, and the threshold that made the mask
        self._thresh_lo = np.empty(shape, u16)
        self._lo_stale = True  # refreshed when next needed, not at every noise update
        self._over = np.zeros(shape, np.uint8)
        self._over_prev = np.zeros(shape, np.uint8)
        self._lo_frame = -(10**9)
        self._thresh_eff = np.empty(shape, u16)
        self._f = np.empty(shape, u16)
        self._diff = np.empty(shape, u16)
        self._tmp = np.empty(shape, u16)
        self._absd = np.empty(shape, u16)
        self.warmup_frames = round(config.warmup_s * fps)
        self.fg_rate = config.foreground_learn_rate
        self.settle_frames = max(round(config.background_tau_s * fps), self.warmup_frames)
        self.guard_blind_frames = round(config.guard_blind_s * fps)
        # stabiliser (see :meth:`stabilise`)
        self.stab_check_frames = max(1, round(config.stabilise_check_s * fps))
        self.stab_hold_frames = round(config.stabilise_hold_s * fps)
        self.last_shake = -(10**9)
        self._next_check = 1  # the first frame after the seed
        self.offset = (0.0, 0.0)  # last alignment applied (work px; frame minus background)
        self.aligned_frames = 0
        self._anchors: np.ndarray | None = None  # corners of the background, (n, 1, 2)
        self._anchor_bg = np.empty((self.h, self.w), np.uint8)  # the background they came from
        self._anchor_frame = -(10**9)
        self._aligned = np.empty((self.h, self.w), np.uint8)

    # -- helpers -------------------------------------------------------------------------
    def _blocks(self, img: np.ndarray) -> np.ndarray:
        """(h // block, w // block) float32 exact block means of the uint8 image ``img``.

        From the integral image: a uint8 INTER_AREA resize rounds its means to whole grey
        levels, too coarse to tell a cloud from noise, and float resizing costs more.
        """
        b = self.block
        hb, wb = self.h // b, self.w // b
        depth = cv2.CV_32S if self.w * self.h * 255 < 2**31 else cv2.CV_64F
        ii = cv2.integral(img[: hb * b, : wb * b], sdepth=depth)
        c = ii[::b, ::b]
        sums = c[1:, 1:] - c[:-1, 1:] - c[1:, :-1] + c[:-1, :-1]
        return sums.astype(np.float32) * np.float32(1.0 / (b * b))

    def _scaled_thresh(self, s: float, dst: np.ndarray) -> None:
        # floor(k * s * noise + min * s), x QUANT: ``diff > thresh`` for whole diffs is
        # then the same test as against the real-valued threshold
        cv2.addWeighted(
            self._noise, self.cfg.threshold_k * s, self._noise, 0.0,
            self.cfg.threshold_min * s * QUANT - 0.5, dst=dst, dtype=cv2.CV_16U,
        )

    def _refresh_thresh(self) -> None:
        self._scaled_thresh(self.thresh_scale, self._thresh)

    def _refresh_lo(self) -> None:
        self._lo_stale = False
        if self.cfg.persist_scale > 0:
            self._scaled_thresh(self.cfg.persist_scale, self._thresh_lo)

    def _persistent(self, diff: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mask, thresh)`` with what persists under clutter added.

        While clutter holds the threshold multiplier over ``persist_scale``, a faint
        object is lost with the rain. Over the lower threshold (``persist_scale`` times
        the noise threshold) a frame has many times more regions, but a rain drop or a
        noise speck is somewhere else a frame later, while a thing let go, or one
        falling slowly, is still within a pixel of where it was: the pixels over the lower
        threshold that touch last frame's, grown back by a pixel over this frame's (to the
        whole of a moving object, not only the part it shares with its last position), are
        foreground too, with the lower threshold as theirs."""
        self._over, self._over_prev = self._over_prev, self._over
        lo = cv2.compare(diff, self.thresh_lo, cv2.CMP_GT, dst=self._over)
        consecutive = self._lo_frame == self.frames - 1
        self._lo_frame = self.frames
        if not consecutive:
            return mask, self._thresh
        stay = cv2.bitwise_and(lo, cv2.dilate(self._over_prev, _KERNEL3))
        stay = cv2.bitwise_and(cv2.dilate(stay, _KERNEL3), lo)
        new = cv2.subtract(stay, mask)  # 255 - 255 saturates at 0
        if not cv2.countNonZero(new):
            return mask, self._thresh
        np.copyto(self._thresh_eff, self._thresh)
        cv2.copyTo(self._thresh_lo, new, self._thresh_eff)
        return cv2.bitwise_or(mask, new), self._thresh_eff

    def feedback(self, n_regions: int) -> None:
        """Tell the model how many foreground regions the last frame had.

        Clutter (compression noise, rain) beyond ``target_blobs`` raises a global
        multiplier of the threshold a little every frame; a quiet frame lowers it back
        toward 1. Sparse noise then stays sparse without the guard blinding the detector.
        """
        cfg = self.cfg
        old = self.thresh_scale
        if n_regions > cfg.target_blobs:
            self.thresh_scale = min(old * 1.08, cfg.max_thresh_scale)
        elif n_regions < cfg.target_blobs // 3:
            self.thresh_scale = max(old / 1.02, 1.0)
        if self.thresh_scale != old:
            self._refresh_thresh()

    def _refresh_bounds(self) -> None:
        assert self._bg is not None
        self._bgq, self._bgq_spare = self._bgq_spare, self._bgq
        cv2.addWeighted(self._bg, float(QUANT), self._bg, 0.0, 0.0, dst=self._bgq,
                        dtype=cv2.CV_16U)
        r = self.cfg.shake_radius
        if r > 0:
            k = _KERNEL3 if r == 1 else np.ones((2 * r + 1,) * 2, np.uint8)
            cv2.erode(self._bgq, k, dst=self._lo)
            cv2.dilate(self._bgq, k, dst=self._hi)

    def seed(self, small: np.ndarray, keep: np.ndarray | None = None) -> None:
        """Re-seed the background from the (h, w) uint8 working image.

        With ``keep`` (a mask), the old background stays where it is set, and the young
        background learns foreground pixels at the settled slow rate (see :meth:`apply`):
        the seed caught no moving object, so there is nothing to forget quickly."""
        new = small.astype(np.float32)
        if keep is not None and self._bg is not None:
            np.copyto(new, self._bg, where=keep.view(bool))
        self._bg = new
        self._kept_seed = keep is not None
        self._anchors = None
        self._next_check = min(self._next_check, self.frames + 1)
        self.bg_frames = 1
        if self.block:
            self._bg_blocks = self._blocks(small)
        self._refresh_bounds()

    def _desensitise(self) -> None:
        """Clutter right after a trip: raise the threshold multiplier a step (x1.25, up to
        ``max_thresh_scale``)."""
        self.thresh_scale = min(self.thresh_scale * 1.25, self.cfg.max_thresh_scale)
        self._refresh_thresh()

    def _correct(self, small: np.ndarray, fb: np.ndarray) -> bool:
        """Write the illumination-corrected frame into ``self._f``; False when not needed."""
        assert self._bg_blocks is not None
        if float(cv2.norm(fb, self._bg_blocks, cv2.NORM_INF)) <= self._GAIN_GREY:
            return False
        gain = cv2.divide(fb + 1.0, self._bg_blocks + 1.0)
        np.clip(gain, 0.25, 4.0, out=gain)
        gain_up = cv2.resize(gain, (self.w, self.h), interpolation=cv2.INTER_LINEAR)
        cv2.divide(small, gain_up, dst=self._f, scale=float(QUANT), dtype=cv2.CV_16U)
        return True

    # -- main ----------------------------------------------------------------------------
    def apply(self, small: np.ndarray) -> Foreground:
        """Foreground of the (h, w) uint8 working image; updates the model."""
        if small.shape != (self.h, self.w):
            raise ValueError(f"expected a ({self.h}, {self.w}) working image, got {small.shape}")
        if small.dtype != np.uint8:
            raise ValueError(f"expected a uint8 working image, got {small.dtype}")
        cfg = self.cfg
        self.frames += 1
        if self._bg is None:
            self.seed(small)
            self.blind_frames_left = max(self.blind_frames_left, self.warmup_frames)
        assert self._bg is not None

        corrected = False
        fb = None
        if self.block:
            fb = self._blocks(small)
            corrected = self._correct(small, fb)
        f = self._f
        if not corrected:
            np.left_shift(small, _SHIFT, out=f, dtype=np.uint16)

        diff = self._diff
        if cfg.shake_radius > 0:
            cv2.subtract(f, self._hi, dst=diff)  # unsigned: saturates at 0
            cv2.subtract(self._lo, f, dst=self._tmp)
            cv2.max(diff, self._tmp, dst=diff)
        else:
            cv2.absdiff(f, self._bgq, dst=diff)

        mask = cv2.compare(diff, self._thresh, cv2.CMP_GT)
        fg = cv2.countNonZero(mask)
        fraction = fg / float(self.w * self.h)
        tripped = False
        warming = self.frames <= self.warmup_frames
        if self.frames % cfg.noise_update_every == 0:
            self.noise_updates += 1
            a = max(self.alpha_noise, 1.0 / self.noise_updates)
            # clipped at the threshold: a passing object barely raises the noise
            absd = diff if cfg.shake_radius == 0 else cv2.absdiff(f, self._bgq, dst=self._absd)
            noise_in = cv2.min(absd, self._thresh, dst=self._absd)
            cv2.accumulateWeighted(noise_in, self._noise, a)
            self._refresh_thresh()
            self._lo_stale = True
        bgq = self._bgq  # what this frame was compared with (a refresh writes the spare)
        if fraction > cfg.guard_fraction and not warming:
            self.trip(small, reason=f"{fraction:.1%} of the frame changed")
            tripped = True
        else:
            # plain averages while young, running averages after
            self.bg_frames += 1
            a_bg = max(self.alpha_bg, 1.0 / self.bg_frames)
            # the background follows the raw frame; only the comparison is corrected.
            # Foreground pixels learn at ``foreground_learn_rate``: a falling object that
            # dawdles a few frames (a can tumbling off a sill) leaves no ghost for its
            # track to latch on to, while a lasting change is still learnt in seconds. Not
            # for one time constant after a (re-)seed: whatever moved away from where the
            # seed caught it must be forgotten at the full rate.
            slow = a_bg * self.fg_rate
            settled = self.bg_frames > self.settle_frames
            if self._kept_seed and not settled:
                # young after a seed that kept the objects out: they still learn slowly
                # (at the young rate, an object crossing the picture in the next second
                # would leave a trail of ghosts, each a blob on the object's own path)
                slow = self.alpha_bg * self.fg_rate
            if fg and slow < a_bg and (settled or self._kept_seed):
                cv2.accumulateWeighted(small, self._bg, slow)
                rest = 1.0 - (1.0 - a_bg) / (1.0 - slow)
                cv2.accumulateWeighted(small, self._bg, rest, mask=cv2.bitwise_not(mask))
            else:
                cv2.accumulateWeighted(small, self._bg, a_bg)
            if fb is not None:
                assert self._bg_blocks is not None
                cv2.accumulateWeighted(fb, self._bg_blocks, a_bg)
            if self.frames % cfg.noise_update_every == 0:
                self._refresh_bounds()
        blind = self.blind_frames_left > 0
        if blind and not tripped:
            self.blind_frames_left -= 1
        thresh = self._thresh
        if self.persisting and not tripped:
            mask, thresh = self._persistent(diff, mask)
        return Foreground(mask, diff, thresh, f, bgq, fraction, tripped, blind, corrected)

    @property
    def persisting(self) -> bool:
        """Clutter holds the threshold over ``persist_scale``: what persists from one frame
        to the next over :attr:`thresh_lo` is foreground too (see :meth:`_persistent`)."""
        return self.persist and 0 < self.cfg.persist_scale < self.thresh_scale

    @property
    def thresh_lo(self) -> np.ndarray:
        """(h, w) uint16 the persistence threshold, ``persist_scale`` times the noise
        threshold (quarter grey levels)."""
        if self._lo_stale:
            self._refresh_lo()
        return self._thresh_lo

    @property
    def cluttered(self) -> bool:
        """The guard tripped or the frame was overloaded a moment ago (see :meth:`overloaded`)."""
        return self.frames - self.last_trip <= self.guard_blind_frames + 2

    def overloaded(self, small: np.ndarray) -> bool:
        """The last frame had more foreground regions than the blob extractor takes.

        Right after another trip this is clutter (rain, sensor noise at night), not a
        change of scene: the background is sound, and re-seeding it from one noisy frame
        would only double the noise, overload the next frame too and keep the detector
        blind for as long as the rain lasts. The threshold is raised and the frame is
        used (the caller keeps its largest regions), unless the background is still
        young: for one time constant after a seed it holds the noise of the few frames
        it was seeded from, and the frame is lost while it settles. Otherwise, or when
        the picture has moved against the background (a shake: every edge lights up),
        it is a global change: see :meth:`trip`. Returns True when the frame is lost.
        """
        still = self.shift(small) <= self.cfg.shake_radius + self.cfg.shake_shift_px
        if self.cluttered and still:
            self._desensitise()
            self.last_trip = self.frames
            return self.bg_frames <= self.settle_frames
        # a still picture whose fine texture changed at once: the encoder's key frame
        # (every GOP, 1-2 s on cameras) requantises the whole picture, which overloads
        # a noisy night or infrared frame. The frames after it are coded against it, so
        # re-seeding from it is right, and there is nothing to wait for: only this frame
        # is lost (a falling object crossing the key frame keeps its track).
        keep = None
        if still and self.cfg.reseed_keep_k > 0 and self.bg_frames > self.settle_frames:
            # what differs by far more than the requantisation is a moving object: it stays
            # out of the new background (widened by a pixel: its rim is fainter). Only a
            # settled background is worth keeping, and only for a few small things: where
            # much of the picture differs that much (rain, noise under infrared) the frame
            # is clutter, and it is all re-seeded
            k = self.cfg.reseed_keep_k
            bar = cv2.addWeighted(self._thresh, k, self._thresh, 0.0, 0.0, dtype=cv2.CV_16U)
            keep = cv2.dilate(cv2.compare(self._diff, bar, cv2.CMP_GT), _KERNEL3)
            if cv2.countNonZero(keep) > _KEEP_MAX_SHARE * self.w * self.h:
                keep = None
        self.trip(small, reason="too many foreground regions", blind=not still, keep=keep)
        return True

    # -- stabiliser ----------------------------------------------------------------------
    _FLOW_WIN = (15, 15)
    _FLOW_LEVELS = 2
    _ANCHOR_REFRESH_S = 5.0

    def stabilise(self, small: np.ndarray) -> np.ndarray:
        """The (h, w) uint8 working image aligned to the background when the camera shakes.

        A camera on a pole sways in the wind by a few pixels, several times a second. Every
        edge of the facade then differs from the background: the noise map learns the
        edges as noise (a small object crossing one goes unseen) and the guard trips
        again and again. For a facade tens of metres away the sway is a translation of
        the whole picture, so it is measured (:meth:`flow_shift`) and undone by a
        sub-pixel shift of the frame (``cv2.warpAffine``, bilinear).

        While the camera holds still this costs one measurement every
        ``stabilise_check_s``; from a shift of ``stabilise_min_px`` on, every frame is
        measured and aligned, until the camera has held still for ``stabilise_hold_s``.
        Blobs found in an aligned frame are in the background's coordinates, which are
        the calibration's (the camera's rest position). Returns ``small`` itself when no
        alignment is needed.
        """
        cfg = self.cfg
        if cfg.stabilise_min_px <= 0 or self._bg is None:
            return small
        was_active = self.frames - self.last_shake <= self.stab_hold_frames
        if not was_active and self.frames < self._next_check:
            return small
        self._next_check = self.frames + self.stab_check_frames
        d = self.flow_shift(small)
        if d is None:
            return small
        dx, dy = d
        active = was_active
        if dx * dx + dy * dy >= cfg.stabilise_min_px**2:
            self.last_shake = self.frames
            active = True
        if not active:
            return small
        self.offset = (dx, dy)
        self.aligned_frames += 1
        m = np.array([[1.0, 0.0, -dx], [0.0, 1.0, -dy]], np.float32)
        cv2.warpAffine(small, m, (self.w, self.h), dst=self._aligned, flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
        if not was_active:
            self._shake_began(self._aligned)
        return self._aligned

    def _shake_began(self, aligned: np.ndarray) -> None:
        """The shake found so far was learnt unaligned: the background is a blur of the
        picture's positions and the noise map took every edge for noise (a small object
        crossing one would go unseen for ``noise_tau_s``). Re-seed the background from
        the aligned frame, and bring the noise back to what most of the picture shows
        (twice its median); a place that really is restless (a tree) learns its noise
        again within ``noise_tau_s``, under the clutter control meanwhile."""
        log.debug("camera shake at frame %d: stabilising", self.frames)
        self.seed(aligned)
        cap = 2.0 * float(np.median(self._noise[:: 4, :: 4]))
        np.minimum(self._noise, max(cap, self.cfg.noise_init * QUANT), out=self._noise)
        self._refresh_thresh()

    def flow_shift(self, small: np.ndarray) -> tuple[float, float] | None:
        """How far (dx, dy, work px) the (h, w) uint8 working image has moved against the
        background: the median pyramidal Lucas-Kanade flow of up to 200 corners of the
        background (re-picked every 5 s, and after a re-seed), over the corners that agree
        with it. The median ignores what moves on its own (rain, a tree, the falling
        object); None when the scene has too few corners (a night sky) or fewer than 30%
        of them agree on one shift."""
        assert self._bg is not None
        stale = self.frames - self._anchor_frame >= self._ANCHOR_REFRESH_S * self.fps
        if self._anchors is None or stale:
            bg8 = cv2.convertScaleAbs(self._bg, dst=self._anchor_bg)
            gap = max(8, min(self.w, self.h) // 30)
            found = cv2.goodFeaturesToTrack(bg8, 200, 0.01, gap, blockSize=7)
            # a scene without corners (a dark sky) is remembered as such until the next
            # re-pick; looking again at every check cost 8 ms a time
            self._anchors = found if found is not None else np.empty((0, 1, 2), np.float32)
            self._anchor_frame = self.frames
        pts = self._anchors
        if len(pts) < 12:
            return None
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            self._anchor_bg, small, pts, pts.copy(), winSize=self._FLOW_WIN,
            maxLevel=self._FLOW_LEVELS)
        ok = status[:, 0] == 1
        if int(ok.sum()) < 12:
            return None
        d = (moved - pts)[ok, 0]
        # the corners that agree with the median to half a pixel decide; rain or a tree
        # may pull a good share of the others anywhere
        agree = np.abs(d - np.median(d, axis=0)).max(axis=1) <= 0.5
        if int(agree.sum()) < max(12, 0.3 * len(pts)):
            return None
        mid = np.median(d[agree], axis=0)
        return float(mid[0]), float(mid[1])

    def shift(self, small: np.ndarray) -> float:
        """How far (work px) the (h, w) uint8 working image has moved against the
        background (only for overloaded frames): the corners' median flow
        (:meth:`flow_shift`), which rain and noise do not sway; where the scene has no
        corners to follow (a dark night), phase correlation at half resolution (about
        1.2 ms at 960x540), which reads short below a pixel."""
        assert self._bg is not None
        d = self.flow_shift(small)
        if d is not None:
            return float(np.hypot(*d))
        a = cv2.pyrDown(small.astype(np.float32))
        b = cv2.pyrDown(self._bg)
        # sides in multiples of 16: odd sizes bias the sub-pixel peak by half a pixel
        h, w = a.shape[0] // 16 * 16, a.shape[1] // 16 * 16
        if h < 16 or w < 16:
            return 0.0
        (dx, dy), _ = cv2.phaseCorrelate(a[:h, :w], b[:h, :w])
        return 2.0 * float(np.hypot(dx, dy))

    def trip(self, small: np.ndarray, reason: str, blind: bool = True,
             keep: np.ndarray | None = None) -> None:
        """Global change: re-seed the background from ``small`` (the old background stays
        where ``keep`` is set) and go blind for a moment (``guard_blind_s``; with ``blind``
        False, only for this frame)."""
        log.debug("global-change guard tripped at frame %d: %s", self.frames, reason)
        self.seed(small, keep)
        if self.cluttered:
            # tripping again right after the last one: this is clutter, not a change of
            # scene; desensitise rather than stay blind
            self._desensitise()
        self.last_trip = self.frames
        if blind:
            self.blind_frames_left = max(self.blind_frames_left, self.guard_blind_frames)


def _alpha(tau_s: float, rate: float) -> float:
    """Per-update weight of a running average with time constant ``tau_s`` at ``rate`` Hz."""
    return float(min(1.0, 1.0 - np.exp(-1.0 / max(tau_s * rate, 1e-6))))
