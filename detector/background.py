"""Background model: foreground mask of small moving things, with a global-change guard.

Per frame, on the working image (the luma shrunk by ``downscale`` with INTER_AREA):

1. *Illumination*: the block means of the frame are divided by the block means of the
   background (which are kept as their own running average: block-averaging commutes
   with the running average), the ratio is smoothly upsampled and the frame divided by
   it. Cloud shadows and exposure drift thus cancel; a small object barely moves its
   block's mean.
2. *Difference*: the background is a running average (``background_tau_s``). To ride out
   camera shake of about one working pixel, the frame is compared with the 3x3 minimum
   and maximum of the background: ``diff = max(f - max3(B), min3(B) - f, 0)``.
3. *Adaptive threshold*: a per-pixel running mean of ``|f - B|`` (the noise map, refreshed
   every few frames) gives ``thr = threshold_k * noise + threshold_min``; swaying
   leaves and flickering water raise their own threshold and nobody else's.
4. *Guard*: if too much of the frame is foreground at once (lights, IR switch, a big
   shake), the background is re-seeded from the current frame and the caller is told
   to ignore blobs for ``guard_blind_s``.

Only OpenCV/numpy kernels touch pixels. All images are ``(h, w)`` working-resolution.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from detector.config import DetectorConfig

log = logging.getLogger(__name__)

_KERNEL3 = np.ones((3, 3), np.uint8)


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


@dataclass
class Foreground:
    """What the background model says about one frame.

    Attributes:
        mask: (h, w) uint8, 255 where foreground.
        diff: (h, w) float32, ``max(f - max3(B), min3(B) - f, 0)`` in grey levels.
        signed: (h, w) float32, illumination-corrected ``f - B`` (sign: brighter/darker).
        thresh: (h, w) float32, the per-pixel threshold applied to ``diff``.
        fraction: share of working pixels that are foreground.
        tripped: the global-change guard tripped on this frame (background re-seeded).
        blind: blobs of this frame should be ignored (warm-up or after the guard).
    """

    mask: np.ndarray
    diff: np.ndarray
    signed: np.ndarray
    thresh: np.ndarray
    fraction: float
    tripped: bool
    blind: bool


class BackgroundModel:
    """Running-average background with adaptive per-pixel threshold (working resolution).

    Args:
        size: (w, h) of the working image.
        fps: nominal frame rate, turns time constants into per-frame rates.
        config: detector configuration.
    """

    def __init__(self, size: tuple[int, int], fps: float, config: DetectorConfig) -> None:
        self.cfg = config
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
        self._bg: np.ndarray | None = None
        self._bg_blocks: np.ndarray | None = None
        self._lo = np.zeros((self.h, self.w), np.float32)
        self._hi = np.zeros((self.h, self.w), np.float32)
        self._noise = np.full((self.h, self.w), config.noise_init, np.float32)
        self._thresh = np.empty((self.h, self.w), np.float32)
        self._refresh_thresh()
        self._f = np.empty((self.h, self.w), np.float32)
        self._tmp = np.empty((self.h, self.w), np.float32)
        self._diff = np.empty((self.h, self.w), np.float32)
        self._signed = np.empty((self.h, self.w), np.float32)
        self._zeros = np.zeros((self.h, self.w), np.float32)
        self.warmup_frames = round(config.warmup_s * fps)
        self.guard_blind_frames = round(config.guard_blind_s * fps)

    # -- helpers -------------------------------------------------------------------------
    def _blocks(self, img: np.ndarray) -> np.ndarray:
        b = self.block
        hb, wb = self.h // b, self.w // b
        return cv2.resize(img[: hb * b, : wb * b], (wb, hb), interpolation=cv2.INTER_AREA).astype(
            np.float32
        )

    def _refresh_thresh(self) -> None:
        s = self.thresh_scale
        cv2.addWeighted(
            self._noise, self.cfg.threshold_k * s, self._noise, 0.0, self.cfg.threshold_min * s,
            dst=self._thresh,
        )

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
        if self.cfg.shake_radius > 0:
            k = _KERNEL3 if self.cfg.shake_radius == 1 else np.ones(
                (2 * self.cfg.shake_radius + 1,) * 2, np.uint8
            )
            cv2.erode(self._bg, k, dst=self._lo)
            cv2.dilate(self._bg, k, dst=self._hi)
        else:
            self._lo[...] = self._bg
            self._hi[...] = self._bg

    def seed(self, small: np.ndarray) -> None:
        """Re-seed the background from the (h, w) uint8 working image."""
        self._bg = small.astype(np.float32)
        self.bg_frames = 1
        if self.block:
            self._bg_blocks = self._blocks(small)
        self._refresh_bounds()

    # -- main ----------------------------------------------------------------------------
    def apply(self, small: np.ndarray) -> Foreground:
        """Foreground of the (h, w) uint8 working image; updates the model."""
        if small.shape != (self.h, self.w):
            raise ValueError(f"expected a ({self.h}, {self.w}) working image, got {small.shape}")
        cfg = self.cfg
        self.frames += 1
        if self._bg is None:
            self.seed(small)
            self.blind_frames_left = max(self.blind_frames_left, self.warmup_frames)
        assert self._bg is not None

        f = self._f
        if self.block:
            assert self._bg_blocks is not None
            fb = self._blocks(small)
            gain = cv2.divide(fb + 1.0, self._bg_blocks + 1.0)
            np.clip(gain, 0.25, 4.0, out=gain)
            gain_up = cv2.resize(gain, (self.w, self.h), interpolation=cv2.INTER_LINEAR)
            cv2.divide(small, gain_up, dst=f, dtype=cv2.CV_32F)
        else:
            f[...] = small

        diff, tmp = self._diff, self._tmp
        cv2.subtract(f, self._hi, dst=diff)
        cv2.subtract(self._lo, f, dst=tmp)
        cv2.max(diff, tmp, dst=diff)
        cv2.threshold(diff, 0.0, 0.0, cv2.THRESH_TOZERO, dst=diff)  # SIMD; np.maximum is 4x slower
        cv2.subtract(f, self._hi if cfg.shake_radius == 0 else self._bg, dst=self._signed)

        mask = cv2.compare(diff, self._thresh, cv2.CMP_GT)
        fg = cv2.countNonZero(mask)
        fraction = fg / float(self.w * self.h)
        tripped = False
        warming = self.frames <= self.warmup_frames
        if self.frames % cfg.noise_update_every == 0:
            self.noise_updates += 1
            a = max(self.alpha_noise, 1.0 / self.noise_updates)
            # clipped at the threshold: a passing object barely raises the noise
            noise_in = cv2.min(cv2.absdiff(self._signed, self._zeros), self._thresh)
            cv2.accumulateWeighted(noise_in, self._noise, a)
            self._refresh_thresh()
        if fraction > cfg.guard_fraction and not warming:
            self.trip(small, reason=f"{fraction:.1%} of the frame changed")
            tripped = True
        else:
            # plain averages while young, running averages after
            self.bg_frames += 1
            a_bg = max(self.alpha_bg, 1.0 / self.bg_frames)
            # the background follows the raw frame (so its block means are exactly the
            # running average of the frame's block means); only the comparison is corrected
            cv2.accumulateWeighted(small, self._bg, a_bg)
            if self.block:
                assert self._bg_blocks is not None
                cv2.accumulateWeighted(fb, self._bg_blocks, a_bg)
            if self.frames % cfg.noise_update_every == 0:
                self._refresh_bounds()
        blind = self.blind_frames_left > 0
        if blind and not tripped:
            self.blind_frames_left -= 1
        return Foreground(mask, diff, self._signed, self._thresh, fraction, tripped, blind)

    def trip(self, small: np.ndarray, reason: str) -> None:
        """Global change: re-seed the background from ``small`` and go blind for a moment."""
        log.debug("global-change guard tripped at frame %d: %s", self.frames, reason)
        self.seed(small)
        if self.frames - self.last_trip <= self.guard_blind_frames + 2:
            # tripping again right after the last one: this is clutter, not a change of
            # scene; desensitise rather than stay blind
            self.thresh_scale = min(self.thresh_scale * 1.25, self.cfg.max_thresh_scale)
            self._refresh_thresh()
        self.last_trip = self.frames
        self.blind_frames_left = max(self.blind_frames_left, self.guard_blind_frames)


def _alpha(tau_s: float, rate: float) -> float:
    """Per-update weight of a running average with time constant ``tau_s`` at ``rate`` Hz."""
    return float(min(1.0, 1.0 - np.exp(-1.0 / max(tau_s * rate, 1e-6))))
