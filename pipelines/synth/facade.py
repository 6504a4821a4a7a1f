"""The static picture of a scene: facade, sky, ground, and a tree in front.

Every pixel's ray is intersected with the facade plane (``y = 0``); the wall is a
procedural grid of storeys and bays (windows, frames, balconies, air-conditioner
boxes, lit and dark windows) or a real photograph tiled as texture. Rays that miss
the building see sky (gradient and clouds) or ground. Everything is computed with
numpy over row bands, so any resolution renders sharp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import cv2
import numpy as np

from pipelines.synth.camera_model import PinholeCamera

# Facade-only crops (x0, y0, x1, y1) of the bundled photographs, in their own pixels.
PHOTO_CROPS: dict[str, tuple[int, int, int, int]] = {
    "opencv_building.jpg": (360, 40, 860, 280),
    "opencv_home.jpg": (300, 235, 512, 384),
    "opencv_leuvenA.jpg": (600, 200, 740, 360),
    "opencv_leuvenB.jpg": (110, 150, 380, 400),
}


def load_photo(name: str) -> np.ndarray:
    """A bundled facade photo, cropped to its facade, as (H, W, 3) float32 BGR in [0, 1]."""
    data = resources.files("pipelines.synth").joinpath("textures", name).read_bytes()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"bundled texture {name} could not be decoded")
    x0, y0, x1, y1 = PHOTO_CROPS[name]
    return img[y0:y1, x0:x1].astype(np.float32) / 255.0


@dataclass
class Building:
    """A rectangular facade ``0 <= x <= width_m``, ``0 <= z <= floors * floor_height_m``.

    Per-window tables are indexed ``[floor_index, column]`` (floor_index 0 is the
    ground storey).
    """

    width_m: float
    floors: int
    floor_height_m: float
    bay_m: float
    window_w_m: float
    window_h_m: float
    sill_m: float
    wall_bgr: np.ndarray  # (3,) float32 in [0, 1]
    frame_bgr: np.ndarray
    glass_bgr: np.ndarray
    has_window: np.ndarray  # (floors, cols) bool
    balcony: np.ndarray  # (floors, cols) bool
    ac_box: np.ndarray  # (floors, cols) bool
    lit: np.ndarray  # (floors, cols) bool: lit at night
    lit_bgr: np.ndarray  # (floors, cols, 3) float32 colour of a lit window
    curtain: np.ndarray  # (floors, cols) float32 in [0, 1]: fraction closed
    photo: str | None = None  # a bundled photo tiled as texture instead of the procedural wall
    photo_tile_m: tuple[float, float] = (12.0, 9.0)
    _photo_img: np.ndarray | None = field(default=None, repr=False)

    @property
    def height_m(self) -> float:
        return self.floors * self.floor_height_m

    @property
    def cols(self) -> int:
        return int(self.has_window.shape[1])

    def window_centre(self, floor_index: int, col: int) -> tuple[float, float]:
        """Wall coordinates (x, z) of a window's centre."""
        x = (col + 0.5) * self.bay_m
        z = floor_index * self.floor_height_m + self.sill_m + self.window_h_m / 2
        return x, z

    def photo_image(self) -> np.ndarray | None:
        if self.photo is None:
            return None
        if self._photo_img is None:
            self._photo_img = load_photo(self.photo)
        return self._photo_img


@dataclass
class Lighting:
    """How the scene is lit. ``mode`` is day, dusk, night (colour) or ir."""

    mode: str
    sun: float  # overall brightness multiplier
    sky_top: np.ndarray  # (3,) BGR at the zenith
    sky_horizon: np.ndarray  # (3,) BGR at the horizon
    cloud_cover: float  # 0..1
    ir_power: float = 60.0  # IR illuminator strength (mode ir): brightness x metres^2


def _noise_texture(rng: np.random.Generator, size: int, octaves: int = 4) -> np.ndarray:
    """A tileable smooth noise texture, (size, size) float32 with zero mean, unit-ish std."""
    out = np.zeros((size, size), np.float32)
    amp = 1.0
    for o in range(octaves):
        n = 4 * 2**o
        small = rng.standard_normal((n, n)).astype(np.float32)
        tiled = np.tile(small, (3, 3))
        big = cv2.resize(tiled, (3 * size, 3 * size), interpolation=cv2.INTER_CUBIC)
        out += amp * big[size : 2 * size, size : 2 * size]
        amp *= 0.5
    out -= out.mean()
    out /= max(float(out.std()), 1e-6)
    return out


@dataclass
class Tree:
    """A tree standing between camera and facade, drawn in image space.

    ``alpha`` is (H, W) float32 coverage, ``bgr`` (H, W, 3) float32 colour (day) and
    ``ir`` (H, W) float32 (foliage is bright under infrared).
    """

    alpha: np.ndarray
    bgr: np.ndarray
    ir: np.ndarray
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1
    sway_px: float
    sway_hz: float


def make_tree(rng: np.random.Generator, width: int, height: int) -> Tree:
    """A foliage mass with a trunk rising from one bottom corner of the picture."""
    s = width / 1920.0
    left = bool(rng.random() < 0.5)
    cx = rng.uniform(0.05, 0.3) * width
    cx = cx if left else width - cx
    top = rng.uniform(0.35, 0.75) * height
    r = rng.uniform(0.12, 0.25) * width
    mask = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(6, 14))):
        ex = cx + rng.normal(0, r * 0.5)
        ey = top + rng.uniform(0.2, 1.0) * r
        ax = rng.uniform(0.3, 0.6) * r
        cv2.ellipse(
            mask,
            (int(ex), int(ey)),
            (int(ax), int(ax * rng.uniform(0.6, 1.0))),
            float(rng.uniform(0, 180)),
            0,
            360,
            1.0,
            -1,
        )
    size = 256
    n = _noise_texture(rng, size, octaves=5)
    tex = cv2.resize(
        np.tile(n, (max(1, height // size + 1), max(1, width // size + 1))),
        None,
        fx=s * 2,
        fy=s * 2,
    )[:height, :width]
    if tex.shape != (height, width):
        tex = cv2.resize(tex, (width, height))
    soft = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.15 * r))
    foliage = ((soft > 0.45 - 0.25 * tex) & (soft > 0.12)).astype(np.float32)
    trunk = np.zeros_like(mask)
    tw = max(4, int(0.02 * width))
    pts = np.array(
        [[cx - tw, height], [cx + tw, height], [cx + tw * 0.4, top + r], [cx - tw * 0.4, top + r]],
        np.int32,
    )
    cv2.fillPoly(trunk, [pts], 1.0)
    alpha = np.clip(foliage + trunk, 0, 1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.7)
    green = np.array([0.10, 0.32, 0.18], np.float32) * rng.uniform(0.6, 1.2)
    shade = (0.75 + 0.25 * tex)[..., None]
    bgr = np.clip(green * shade, 0, 1).astype(np.float32)
    bark = np.array([0.12, 0.18, 0.25], np.float32)
    bgr = np.where(trunk[..., None] > 0.5, bark, bgr).astype(np.float32)
    ir = np.where(trunk > 0.5, 0.35, 0.75 + 0.15 * tex).astype(np.float32)
    ys, xs = np.nonzero(alpha > 0.01)
    bbox = (
        (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        if xs.size
        else (0, 0, 0, 0)
    )
    return Tree(
        alpha, bgr, ir, bbox, float(rng.uniform(0.5, 3.0) * s), float(rng.uniform(0.2, 0.8))
    )


class FacadeRenderer:
    """Shades the static scene for one camera.

    ``render(lighting)`` gives the (H, W, 3) float32 picture without the tree; the
    wall coordinates of every pixel are kept so windows can be re-shaded cheaply
    (lights switching, curtains).
    """

    def __init__(self, camera: PinholeCamera, building: Building, rng: np.random.Generator):
        self.camera = camera
        self.building = building
        self.wall_noise = _noise_texture(rng, 256, octaves=5)
        self.cloud_noise = _noise_texture(rng, 256, octaves=5)
        self.ground_noise = _noise_texture(rng, 128, octaves=3)
        H, W = camera.height, camera.width
        u = np.arange(W, dtype=np.float32) + 0.5
        self.x = np.empty((H, W), np.float32)
        self.z = np.empty((H, W), np.float32)
        self.dist = np.empty((H, W), np.float32)
        self.kind = np.empty((H, W), np.uint8)  # 0 sky, 1 wall, 2 ground
        self.elev = np.empty((H, W), np.float32)
        self.skyx = np.empty((H, W), np.float32)
        self.skyy = np.empty((H, W), np.float32)
        C = camera.C
        for r0 in range(0, H, 128):
            r1 = min(H, r0 + 128)
            vv = np.arange(r0, r1, dtype=np.float32) + 0.5
            uu, vg = np.meshgrid(u, vv)
            d = camera.rays(uu, vg).astype(np.float32)
            d /= np.linalg.norm(d, axis=-1, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                t_wall = np.where(d[..., 1] > 1e-6, -C[1] / d[..., 1], np.inf)
                t_ground = np.where(d[..., 2] < -1e-6, -C[2] / d[..., 2], np.inf)
            xw = C[0] + t_wall * d[..., 0]
            zw = C[2] + t_wall * d[..., 2]
            on_wall = (
                np.isfinite(t_wall)
                & (xw >= 0)
                & (xw <= building.width_m)
                & (zw >= 0)
                & (zw <= building.height_m)
                & (t_wall < t_ground)
            )
            kind = np.where(on_wall, 1, np.where(np.isfinite(t_ground), 2, 0)).astype(np.uint8)
            self.kind[r0:r1] = kind
            self.x[r0:r1] = np.where(on_wall, xw, C[0] + t_ground * d[..., 0])
            self.z[r0:r1] = np.where(on_wall, zw, C[1] + t_ground * d[..., 1])
            self.dist[r0:r1] = np.where(
                on_wall, t_wall, np.where(np.isfinite(t_ground), t_ground, 1e4)
            )
            self.elev[r0:r1] = d[..., 2]
            with np.errstate(divide="ignore", invalid="ignore"):
                k = np.where(d[..., 2] > 0.02, 800.0 / np.maximum(d[..., 2], 0.02), 4e4)
            self.skyx[r0:r1] = d[..., 0] * k
            self.skyy[r0:r1] = d[..., 1] * k
            self.x[r0:r1][kind == 0] = 0
            self.z[r0:r1][kind == 0] = 0

    # ------------------------------------------------------------------ shading
    def _sample(self, tex: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Sample a tileable texture at float coordinates (pixels of the texture), wrapping."""
        h, w = tex.shape[:2]
        shape = np.shape(a)
        n = int(np.prod(shape))
        cols = 4096
        rows = max(1, -(-n // cols))
        mx = np.zeros(rows * cols, np.float32)
        my = np.zeros(rows * cols, np.float32)
        mx[:n] = np.mod(np.ravel(a), w)
        my[:n] = np.mod(np.ravel(b), h)
        out = cv2.remap(
            tex,
            mx.reshape(rows, cols),
            my.reshape(rows, cols),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_WRAP,
        )
        return out.reshape((rows * cols, *tex.shape[2:]))[:n].reshape(shape + tex.shape[2:])

    def shade_wall(
        self,
        x: np.ndarray,
        z: np.ndarray,
        night: bool,
        lit_override: dict[tuple[int, int], bool] | None = None,
        curtain_override: dict[tuple[int, int], float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Colour of wall points (x, z) before lighting.

        Returns (colour (..., 3) float32, emissive (...) bool): the caller scales the
        colour by the light, but not the lit windows at night, which shine by themselves.
        """
        b = self.building
        fh, bay = b.floor_height_m, b.bay_m
        fi = np.clip(np.floor(z / fh).astype(np.int32), 0, b.floors - 1)
        ci = np.clip(np.floor(x / bay).astype(np.int32), 0, b.cols - 1)
        zf = z - fi * fh
        xb = x - ci * bay
        photo = b.photo_image()
        if photo is not None:
            tw, th = b.photo_tile_m
            ph, pw = photo.shape[:2]
            col = self._sample(photo, x / tw * pw, (1.0 - np.mod(z, th) / th) * ph)
            return col.astype(np.float32), np.zeros(x.shape, bool)
        noise = self._sample(self.wall_noise, x * 40.0, z * 40.0)
        col = np.empty((*x.shape, 3), np.float32)
        col[:] = b.wall_bgr
        col *= (1.0 + 0.05 * noise)[..., None]
        slab = zf < 0.22
        col[slab] *= 0.85
        wx0 = (bay - b.window_w_m) / 2
        in_win = (
            b.has_window[fi, ci]
            & (xb > wx0)
            & (xb < wx0 + b.window_w_m)
            & (zf > b.sill_m)
            & (zf < b.sill_m + b.window_h_m)
        )
        frame_t = 0.07
        in_glass = (
            in_win
            & (xb > wx0 + frame_t)
            & (xb < wx0 + b.window_w_m - frame_t)
            & (zf > b.sill_m + frame_t)
            & (zf < b.sill_m + b.window_h_m - frame_t)
        )
        mullion = in_glass & (np.abs(xb - bay / 2) < frame_t / 2)
        col[in_win] = b.frame_bgr
        lit: np.ndarray = b.lit[fi, ci]
        curtain: np.ndarray = b.curtain[fi, ci]
        if lit_override:
            for (f, c), v in lit_override.items():
                lit = np.where((fi == f) & (ci == c), v, lit)
        if curtain_override:
            for (f, c), frac in curtain_override.items():
                curtain = np.where((fi == f) & (ci == c), frac, curtain)
        rel = (xb - wx0 - frame_t) / max(b.window_w_m - 2 * frame_t, 1e-3)
        curtained = in_glass & (rel < curtain)
        glass = np.empty_like(col)
        glass[:] = b.glass_bgr
        glass *= 0.8 + 0.2 * self._sample(self.cloud_noise, x * 5, z * 5)[..., None] * 0.5 + 0.2
        if night:
            glass = np.where(lit[..., None], b.lit_bgr[fi, ci], glass * 0.3)
            curtain_col = np.where(lit[..., None], b.lit_bgr[fi, ci] * 0.7, b.frame_bgr * 0.1)
        else:
            curtain_col = np.broadcast_to(np.array([0.75, 0.8, 0.85], np.float32), col.shape)
        sel = in_glass & ~mullion
        col[sel] = glass[sel]
        col[curtained & ~mullion] = curtain_col[curtained & ~mullion]
        # balcony: slab edge and railing bars in front of the lower window
        bal = b.balcony[fi, ci]
        rail = bal & (zf < 1.05) & (zf > 0.1)
        bars = rail & ((np.mod(xb, 0.12) < 0.025) | (np.abs(zf - 1.0) < 0.04))
        col[bars] = b.frame_bgr * 0.6
        col[bal & (zf <= 0.1)] = b.wall_bgr * 0.7
        # air-conditioner boxes beside some windows
        ac = b.ac_box[fi, ci] & (xb > bay - 0.85) & (xb < bay - 0.1) & (zf > 0.35) & (zf < 0.85)
        col[ac] = np.array([0.82, 0.84, 0.85], np.float32)
        col[ac & (np.mod(zf, 0.08) < 0.02)] *= 0.6
        emissive = (in_glass & ~mullion & lit & ~bars) if night else np.zeros(x.shape, bool)
        return col, emissive

    def render(
        self,
        lighting: Lighting,
        rows: slice | None = None,
        cols: slice | None = None,
        lit_override: dict[tuple[int, int], bool] | None = None,
        curtain_override: dict[tuple[int, int], float] | None = None,
    ) -> np.ndarray:
        """Shade the picture (or a window of it) under ``lighting``: (h, w, 3) float32 in [0, 1]."""
        rows = rows or slice(0, self.camera.height)
        cols = cols or slice(0, self.camera.width)
        kind = self.kind[rows, cols]
        x, z = self.x[rows, cols], self.z[rows, cols]
        out = np.zeros((*kind.shape, 3), np.float32)
        night = lighting.mode in ("night", "ir")
        wall = kind == 1
        if wall.any():
            col, emissive = self.shade_wall(x[wall], z[wall], night, lit_override, curtain_override)
            if lighting.mode == "ir":
                # infrared: grey reflectance lit by the camera's illuminator, falling off
                # with the square of the distance; dark glass stays dark
                lum = col @ np.array([0.3, 0.5, 0.2], np.float32)
                d = self.dist[rows, cols][wall]
                lum = (lum * 0.6 + 0.15) * np.minimum(
                    1.2, lighting.ir_power / np.maximum(d, 1.0) ** 2
                )
                col = np.repeat(lum[:, None], 3, axis=1)
            elif lighting.mode == "night":
                height_fall = np.clip(1.0 - z[wall] / 60.0, 0.15, 1.0)
                col = np.where(emissive[:, None], col, col * (0.12 * height_fall)[:, None])
            else:
                shade = 1.0 - 0.15 * np.clip(z[wall] / max(self.building.height_m, 1.0), 0, 1)
                col = col * (lighting.sun * shade)[:, None]
            out[wall] = col
        sky = kind == 0
        if sky.any():
            e = np.clip(self.elev[rows, cols][sky], 0, 1)[:, None]
            base = lighting.sky_horizon * (1 - e) + lighting.sky_top * e
            clouds = self._sample(
                self.cloud_noise,
                self.skyx[rows, cols][sky] / 20.0,
                self.skyy[rows, cols][sky] / 20.0,
            )
            cov = np.clip((clouds - (1.0 - 2.0 * lighting.cloud_cover)) * 0.8, 0, 1)[:, None]
            cloud_col = np.full(3, 0.92 if lighting.mode in ("day", "dusk") else 0.08, np.float32)
            if lighting.mode == "dusk":
                cloud_col = np.array([0.45, 0.45, 0.55], np.float32)
            col = base * (1 - cov) + cloud_col * cov
            if lighting.mode == "ir":
                col = np.repeat(col.mean(axis=1, keepdims=True) * 0.6, 3, axis=1)
            out[sky] = col
        ground = kind == 2
        if ground.any():
            g = self._sample(self.ground_noise, x[ground] * 10, z[ground] * 10)
            lum = (0.25 + 0.04 * g) * (lighting.sun if lighting.mode in ("day", "dusk") else 0.15)
            out[ground] = np.stack([lum, lum, lum * 1.02], axis=1)
        return out
