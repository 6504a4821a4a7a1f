"""Sampling a scene: camera, building, light, the objects that fall and the distractors.

Everything is drawn from ``np.random.default_rng([seed, index])`` so that a scene is
the same whatever else is generated beside it, and the same seed gives the same
scenes. The sampled :class:`SceneSpec` holds every moving thing's path; the renderer
(:mod:`pipelines.synth.render`) only draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipelines.synth.camera_model import PinholeCamera
from pipelines.synth.facade import PHOTO_CROPS, Building, Lighting
from pipelines.synth.physics import integrate_fall

RESOLUTIONS: dict[str, tuple[int, int]] = {
    "720p": (1280, 720),
    "1080p": (1920, 1080),
    "4k": (3840, 2160),
}
# Camera-like bit rates (bit/s) per resolution at 25 fps.
BITRATES: dict[str, int] = {"720p": 2_000_000, "1080p": 4_000_000, "4k": 12_000_000}

# kind: (size m, terminal velocity m/s, shape, aspect, colours BGR (0-1), flutter)
OBJECT_KINDS: dict[str, dict[str, Any]] = {
    "bottle": dict(
        size=(0.20, 0.33),
        vt=(24, 34),
        shape="bottle",
        aspect=(2.6, 3.4),
        colours=[(0.25, 0.55, 0.2), (0.85, 0.9, 0.9), (0.1, 0.25, 0.45), (0.9, 0.75, 0.6)],
        flutter=0.0,
    ),
    "bag": dict(
        size=(0.25, 0.45),
        vt=(9, 18),
        shape="blob",
        aspect=(1.0, 1.5),
        colours=[(0.1, 0.1, 0.1), (0.92, 0.92, 0.92), (0.2, 0.2, 0.8), (0.7, 0.4, 0.1)],
        flutter=0.15,
    ),
    "fruit": dict(
        size=(0.07, 0.12),
        vt=(25, 35),
        shape="ellipse",
        aspect=(1.0, 1.2),
        colours=[(0.1, 0.5, 0.95), (0.15, 0.15, 0.8), (0.2, 0.8, 0.9), (0.2, 0.7, 0.3)],
        flutter=0.0,
    ),
    "can": dict(
        size=(0.11, 0.16),
        vt=(24, 34),
        shape="box",
        aspect=(1.6, 2.0),
        colours=[(0.8, 0.8, 0.8), (0.15, 0.1, 0.75), (0.7, 0.35, 0.1), (0.1, 0.7, 0.8)],
        flutter=0.0,
    ),
    "carton": dict(
        size=(0.15, 0.3),
        vt=(10, 20),
        shape="box",
        aspect=(1.2, 1.7),
        colours=[(0.9, 0.9, 0.88), (0.35, 0.55, 0.7), (0.7, 0.5, 0.2)],
        flutter=0.05,
    ),
    "flowerpot": dict(
        size=(0.15, 0.3),
        vt=(30, 45),
        shape="pot",
        aspect=(1.0, 1.3),
        colours=[(0.2, 0.35, 0.7), (0.1, 0.1, 0.1), (0.85, 0.85, 0.85)],
        flutter=0.0,
    ),
    "cigarette": dict(
        size=(0.03, 0.04),
        vt=(6, 10),
        shape="box",
        aspect=(3.5, 4.5),
        colours=[(0.95, 0.95, 0.95), (0.4, 0.6, 0.9)],
        flutter=0.0,
    ),
    "cloth": dict(
        size=(0.35, 0.8),
        vt=(3.5, 6),
        shape="cloth",
        aspect=(1.0, 1.6),
        colours=[(0.8, 0.2, 0.2), (0.9, 0.9, 0.9), (0.2, 0.2, 0.7), (0.2, 0.6, 0.8)],
        flutter=0.5,
    ),
}
BALCONY_RAIL_M = (1.0, 1.4)
"""How far in front of the wall an object leaves a balcony (the rail, metres): the range
releases are drawn from; the camera file gives its middle as the balconies' depth."""

OBJECT_WEIGHTS: dict[str, float] = {
    "bottle": 0.2,
    "bag": 0.14,
    "fruit": 0.12,
    "can": 0.12,
    "carton": 0.12,
    "flowerpot": 0.14,
    "cigarette": 0.05,
    "cloth": 0.11,
}
DISTRACTOR_KINDS = (
    "bird",
    "flock",
    "leaves",
    "towel",
    "laundry",
    "insects",
    "lights",
    "curtain",
    "shake",
    "clouds",
)


@dataclass(frozen=True)
class SynthOptions:
    """What ``fallwatch synth`` is asked for."""

    distractor_share: float = 0.3
    duration_s: float = 10.0
    distractor_duration_s: float = 30.0
    night_share: float = 0.3
    rain_share: float = 0.2
    resolutions: tuple[tuple[str, float], ...] = (("720p", 0.35), ("1080p", 0.5), ("4k", 0.15))
    fps_choices: tuple[tuple[float, float], ...] = ((25.0, 0.7), (30.0, 0.2), (15.0, 0.1))
    max_objects: int = 3
    tree_share: float = 0.4
    photo_share: float = 0.25


@dataclass
class Mover:
    """Anything that moves through the scene, with its sampled path.

    ``pos`` is (F, S, 3) world positions (or, for ``space == 'camera'``, (F, S, 3)
    rows ``[u_px, v_px, radius_px]`` in the picture) at S instants spread over each
    frame's exposure; ``alive`` (F,) says in which frames it exists.
    """

    kind: str
    role: str  # "object" or "distractor"
    shape: str
    size_m: float
    colour: np.ndarray  # (3,) BGR 0-1 in daylight
    ir: float  # reflectance under infrared
    pos: np.ndarray
    alive: np.ndarray
    space: str = "world"
    aspect: float = 1.0
    spin_hz: float = 0.0
    tumble_hz: float = 0.0
    phase: float = 0.0
    flap_hz: float = 0.0
    soft: float = 0.0  # blur radius as a fraction of the size (out-of-focus insects)
    emissive: float = 0.0  # light of its own (0-1), e.g. a lit cigarette at night
    polygon: np.ndarray | None = None  # (F, S, K, 3) world polygon for cloth-like distractors
    truth: dict[str, Any] = field(default_factory=dict)


@dataclass
class SceneSpec:
    name: str
    seed: int
    index: int
    fps: float
    frames: int
    resolution: str
    camera: PinholeCamera
    building: Building
    lighting: Lighting
    ir_switch_frame: int | None
    exposure_s: float
    noise_sigma: float
    shake_px: float
    cloud_change: float
    rain_drops: int
    tree: bool
    movers: list[Mover]
    light_toggles: list[tuple[int, int, int]]  # (frame, floor_index, col)
    curtains: list[tuple[int, int, int, float, float]]  # (floor_index, col, start, end, to)
    bitrate: int
    subsamples: int
    distractor_only: bool

    @property
    def times(self) -> np.ndarray:
        """(F, S) sample instants in seconds: frame f's exposure, centred on f / fps."""
        f = np.arange(self.frames)[:, None] / self.fps
        k = (np.arange(self.subsamples) / max(self.subsamples - 1, 1) - 0.5)[None, :]
        return f + k * self.exposure_s


def _pick(rng: np.random.Generator, choices: tuple[tuple[Any, float], ...]) -> Any:
    w = np.array([c[1] for c in choices], dtype=np.float64)
    return choices[int(rng.choice(len(choices), p=w / w.sum()))][0]


def sample_building(rng: np.random.Generator, photo_share: float) -> Building:
    floors = int(rng.integers(10, 34))
    fh = float(rng.uniform(2.8, 3.3))
    bay = float(rng.uniform(3.0, 4.5))
    cols = int(rng.integers(6, 16))
    palette = [
        (0.78, 0.8, 0.82),
        (0.6, 0.7, 0.82),
        (0.45, 0.5, 0.62),
        (0.85, 0.85, 0.8),
        (0.55, 0.6, 0.6),
        (0.35, 0.4, 0.55),
        (0.7, 0.75, 0.9),
    ]
    wall = np.array(palette[int(rng.integers(len(palette)))], np.float32) * rng.uniform(0.85, 1.1)
    frame = np.array([0.9, 0.9, 0.9] if rng.random() < 0.6 else [0.3, 0.3, 0.32], np.float32)
    glass = np.array([0.35, 0.3, 0.25], np.float32) * rng.uniform(0.6, 1.4)
    shape = (floors, cols)
    has_window = rng.random(shape) < rng.uniform(0.85, 1.0)
    bal_cols = rng.random(cols) < rng.uniform(0.0, 0.6)
    balcony = np.broadcast_to(bal_cols, shape).copy()
    balcony[0] = False
    ac = rng.random(shape) < rng.uniform(0.05, 0.4)
    lit = rng.random(shape) < rng.uniform(0.2, 0.6)
    warm = np.array([0.55, 0.8, 0.95], np.float32)
    cool = np.array([0.95, 0.92, 0.85], np.float32)
    mix = rng.random(shape)[..., None].astype(np.float32)
    lit_bgr = (warm * mix + cool * (1 - mix)) * rng.uniform(0.6, 1.0, shape)[..., None]
    curtain = np.where(rng.random(shape) < 0.4, rng.uniform(0.2, 0.9, shape), 0.0).astype(
        np.float32
    )
    photo = None
    tile = (12.0, 9.0)
    if rng.random() < photo_share:
        photo = sorted(PHOTO_CROPS)[int(rng.integers(len(PHOTO_CROPS)))]
        x0, y0, x1, y1 = PHOTO_CROPS[photo]
        th = fh * int(rng.integers(2, 4))
        tile = (th * (x1 - x0) / (y1 - y0), th)
    return Building(
        width_m=cols * bay,
        floors=floors,
        floor_height_m=fh,
        bay_m=bay,
        window_w_m=float(bay * rng.uniform(0.4, 0.7)),
        window_h_m=float(fh * rng.uniform(0.42, 0.55)),
        sill_m=0.9,
        wall_bgr=wall.astype(np.float32),
        frame_bgr=frame,
        glass_bgr=glass.astype(np.float32),
        has_window=has_window,
        balcony=balcony,
        ac_box=ac,
        lit=lit,
        lit_bgr=lit_bgr.astype(np.float32),
        curtain=curtain,
        photo=photo,
        photo_tile_m=tile,
    )


def sample_camera(rng: np.random.Generator, b: Building, width: int, height: int) -> PinholeCamera:
    """A camera near the foot of the facade whose picture is mostly wall, with some sky."""
    best: tuple[float, PinholeCamera] | None = None
    for _ in range(60):
        d = float(rng.uniform(8.0, 30.0))
        h = float(rng.uniform(0.5, 5.0))
        x = float(rng.uniform(0.3, 0.7) * b.width_m)
        hfov = float(rng.uniform(55.0, 95.0))
        top_elev = np.degrees(np.arctan2(b.height_m - h, d))
        vfov = 2 * np.degrees(np.arctan(np.tan(np.radians(hfov) / 2) * height / width))
        pitch = float(np.clip(top_elev - vfov * rng.uniform(0.25, 0.6), 15.0, 75.0))
        cam = PinholeCamera(
            (x, -d, h),
            float(rng.uniform(-12, 12)),
            pitch,
            float(rng.uniform(-2, 2)),
            hfov,
            width,
            height,
        )
        # share of a coarse pixel grid that sees the wall
        uu, vv = np.meshgrid(np.linspace(0, width, 24), np.linspace(0, height, 14))
        rays = cam.rays(uu, vv)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(rays[..., 1] > 1e-6, d / rays[..., 1], np.inf)
        xw = x + t * rays[..., 0]
        zw = h + t * rays[..., 2]
        wall = np.isfinite(t) & (xw >= 0) & (xw <= b.width_m) & (zw >= 0) & (zw <= b.height_m)
        share = float(wall.mean())
        score = -abs(share - 0.75)
        if best is None or score > best[0]:
            best = (score, cam)
        if 0.6 <= share <= 0.9:
            return cam
    assert best is not None
    return best[1]


def sample_lighting(rng: np.random.Generator, night: bool) -> tuple[Lighting, int | None, str]:
    """Light of the scene; for dusk scenes also the frame fraction where IR switches on."""
    if night:
        if rng.random() < 0.75:
            return (
                Lighting(
                    "ir",
                    1.0,
                    np.array([0.1, 0.1, 0.1], np.float32),
                    np.array([0.2, 0.2, 0.2], np.float32),
                    float(rng.uniform(0, 0.6)),
                    ir_power=float(rng.uniform(400, 1600)),
                ),
                None,
                "ir",
            )
        return (
            Lighting(
                "night",
                0.2,
                np.array([0.12, 0.06, 0.04], np.float32),
                np.array([0.22, 0.18, 0.2], np.float32),
                float(rng.uniform(0, 0.6)),
            ),
            None,
            "night",
        )
    r = rng.random()
    if r < 0.12:
        return (
            Lighting(
                "dusk",
                float(rng.uniform(0.35, 0.6)),
                np.array([0.45, 0.25, 0.2], np.float32),
                np.array([0.4, 0.55, 0.8], np.float32),
                float(rng.uniform(0, 0.7)),
            ),
            1,
            "dusk",
        )
    overcast = r > 0.6
    top = (
        np.array([0.8, 0.55, 0.3], np.float32)
        if not overcast
        else np.array([0.78, 0.76, 0.74], np.float32)
    )
    hor = (
        np.array([0.95, 0.85, 0.75], np.float32)
        if not overcast
        else np.array([0.88, 0.87, 0.86], np.float32)
    )
    return (
        Lighting(
            "day",
            float(rng.uniform(0.75, 1.15)),
            top,
            hor,
            float(rng.uniform(0.0, 1.0) if not overcast else rng.uniform(0.7, 1.0)),
        ),
        None,
        "day",
    )


def _visible_windows(cam: PinholeCamera, b: Building, margin: float) -> list[tuple[int, int]]:
    out = []
    for fi in range(2, b.floors):
        for ci in range(b.cols):
            if not b.has_window[fi, ci]:
                continue
            x, z = b.window_centre(fi, ci)
            uv, depth = cam.project(np.array([[x, -0.3, z], [x, -0.3, z - 8.0]]))
            if depth.min() <= 0:
                continue
            inside = (
                (uv[:, 0] > margin * cam.width)
                & (uv[:, 0] < (1 - margin) * cam.width)
                & (uv[:, 1] > margin * cam.height)
                & (uv[:, 1] < cam.height)
            )
            if inside.all():
                out.append((fi, ci))
    return out


def _contrast_colour(
    rng: np.random.Generator, palette: list[tuple[float, float, float]], background_lum: float
) -> np.ndarray:
    """A palette colour, pushed away from the background's luminance when too close."""
    col = np.array(palette[int(rng.integers(len(palette)))], np.float32) * rng.uniform(0.85, 1.1)
    lum = float(col @ np.array([0.114, 0.587, 0.299], np.float32))
    need = rng.uniform(0.1, 0.3)
    if abs(lum - background_lum) < need:
        target = background_lum + need if background_lum < 0.5 else background_lum - need
        col = col * (max(target, 0.03) / max(lum, 0.03))
    return np.clip(col, 0.0, 1.0).astype(np.float32)


def sample_object(
    rng: np.random.Generator, spec: SceneSpec, fi: int, ci: int, release_t: float, wall_lum: float
) -> Mover:
    kind = _pick(rng, tuple(OBJECT_WEIGHTS.items()))
    k = OBJECT_KINDS[kind]
    size = float(rng.uniform(*k["size"]))
    vt = float(rng.uniform(*k["vt"]))
    b = spec.building
    x, _ = b.window_centre(fi, ci)
    x += float(rng.uniform(-0.35, 0.35)) * b.window_w_m
    balcony = bool(b.balcony[fi, ci])
    y0 = -float(rng.uniform(*BALCONY_RAIL_M)) if balcony else -float(rng.uniform(0.15, 0.5))
    z0 = fi * b.floor_height_m + float(rng.uniform(1.0, 1.6))
    mode = _pick(rng, (("drop", 0.5), ("outward", 0.35), ("upward", 0.15)))
    if mode == "drop":
        v0 = rng.normal(0, 0.2, 3)
        v0[1] = -abs(v0[1])
    elif mode == "outward":
        v0 = np.array([rng.normal(0, 0.7), -rng.uniform(0.8, 3.0), rng.uniform(-0.5, 1.5)])
    else:
        v0 = np.array([rng.normal(0, 0.7), -rng.uniform(0.3, 2.0), rng.uniform(2.0, 5.0)])
    wind = np.array([rng.normal(0, 1.5), rng.normal(0, 0.5), 0.0])
    times = spec.times
    t_flat = times.ravel()
    after = t_flat >= release_t
    pos = np.empty((t_flat.size, 3))
    pos[:] = (x, y0, z0)
    if after.any():
        ts = np.concatenate([[release_t], t_flat[after]])
        p, _landed = integrate_fall(np.array([x, y0, z0]), v0, vt, ts, wind=wind)
        pos[after] = p[1:]
    pos = pos.reshape((*times.shape, 3))
    flutter = k["flutter"]
    if flutter > 0:
        dt = np.clip(times - release_t, 0, None)
        grow = 1 - np.exp(-dt / 0.6)
        f_hz = rng.uniform(0.6, 1.6)
        ph = rng.uniform(0, 2 * np.pi)
        pos[..., 0] += flutter * 2.0 * grow * np.sin(2 * np.pi * f_hz * dt + ph)
        pos[..., 1] += flutter * 1.0 * grow * np.cos(2 * np.pi * f_hz * 0.7 * dt + ph)
    alive = (times[:, -1] >= release_t) & (pos[:, 0, 2] > 0.05)
    colour = _contrast_colour(rng, k["colours"], wall_lum)
    emissive = (
        float(rng.uniform(0.5, 1.0)) if kind == "cigarette" and spec.lighting.mode != "day" else 0.0
    )
    return Mover(
        kind=kind,
        role="object",
        shape=k["shape"],
        size_m=size,
        colour=colour,
        ir=float(rng.uniform(0.25, 0.95)),
        pos=pos,
        alive=alive,
        aspect=float(rng.uniform(*k["aspect"])),
        spin_hz=float(rng.uniform(-3, 3)),
        tumble_hz=float(rng.uniform(0.5, 3.0)),
        phase=float(rng.uniform(0, 2 * np.pi)),
        emissive=emissive,
        truth={
            "kind": kind,
            "release_frame": int(np.floor(release_t * spec.fps)),
            "origin_floor": int(fi + 1),
            "release_t_s": round(release_t, 4),
            "release_m": [round(float(v), 3) for v in (x, y0, z0)],
            "release_velocity_m_s": [round(float(v), 3) for v in v0],
            "throw": mode,
            "size_m": round(size, 3),
            "terminal_velocity_m_s": round(vt, 2),
            "wind_m_s": [round(float(v), 3) for v in wind],
        },
    )


def _bird(
    rng: np.random.Generator,
    spec: SceneSpec,
    behaviour: str,
    start_t: float,
    base: dict[str, Any] | None = None,
) -> Mover:
    b, cam = spec.building, spec.camera
    times = spec.times
    dt = times - start_t
    span = float(rng.uniform(0.25, 0.7))
    colour = np.array([rng.uniform(0.1, 0.45)] * 3, np.float32) * np.array(
        [1.0, 1.0, 0.95], np.float32
    )
    cx = cam.C[0]
    if base is None:
        y = -float(rng.uniform(2.0, 25.0))
        z = float(rng.uniform(0.3, 0.95) * b.height_m)
        speed = float(rng.uniform(5.0, 14.0))
        direction = 1.0 if rng.random() < 0.5 else -1.0
    else:
        y, z, speed, direction = base["y"], base["z"], base["speed"], base["dir"]
        y += float(rng.normal(0, 1.5))
        z += float(rng.normal(0, 2.0))
        speed *= float(rng.uniform(0.95, 1.05))
    x0 = cx - direction * float(rng.uniform(15, 45))
    pos = np.empty((*times.shape, 3))
    truth: dict[str, Any] = {"kind": "bird", "behaviour": behaviour}
    if behaviour in ("level", "flock"):
        pos[..., 0] = x0 + direction * speed * dt
        pos[..., 1] = y + 0.3 * np.sin(dt * 1.3)
        pos[..., 2] = z + 0.4 * np.sin(dt * 0.9 + 1.0)
    elif behaviour == "glide":
        # constant-speed glide down to a ledge on the facade, then it sits there
        fi = int(rng.integers(2, max(3, b.floors - 1)))
        ledge = np.array([cx + rng.uniform(-10, 10), -0.3, fi * b.floor_height_m + 0.05])
        angle = np.radians(rng.uniform(15, 50))
        v = float(rng.uniform(3.0, 7.0))
        horiz = np.array([direction * np.cos(angle), -0.3 * np.cos(angle), 0.0])
        vel = v * (horiz / np.linalg.norm(horiz) * np.cos(angle) + np.array([0, 0, -np.sin(angle)]))
        dur = float(rng.uniform(2.0, 5.0))
        start = ledge - vel * dur
        tt = np.clip(dt, None, dur)
        pos[:] = start + tt[..., None] * vel
        truth["ledge_floor"] = fi + 1
    else:  # swoop: dives with growing speed, then pulls up
        dur = float(rng.uniform(1.5, 3.0))
        depth = float(rng.uniform(4.0, 15.0))
        tm = dur / 2
        pos[..., 0] = x0 * 0.3 + cx * 0.7 + direction * speed * (dt - tm)
        pos[..., 1] = y
        pos[..., 2] = z - depth + depth * ((dt - tm) / tm) ** 2
    alive = (times[:, -1] >= start_t) & (times[:, 0] <= start_t + 25.0)
    return Mover(
        kind="bird",
        role="distractor",
        shape="bird",
        size_m=span,
        colour=colour,
        ir=float(rng.uniform(0.3, 0.7)),
        pos=pos,
        alive=alive,
        flap_hz=float(rng.uniform(3.0, 8.0)) if behaviour != "glide" else 0.0,
        phase=float(rng.uniform(0, 2 * np.pi)),
        truth=truth,
    )


def _leaf(
    rng: np.random.Generator,
    spec: SceneSpec,
    start_t: float,
    vt_range: tuple[float, float] = (0.8, 2.0),
) -> Mover:
    cam, b = spec.camera, spec.building
    times = spec.times
    p0 = np.array(
        [
            cam.C[0] + rng.uniform(-15, 15),
            -rng.uniform(2.0, 12.0),
            rng.uniform(0.3, 0.8) * b.height_m,
        ]
    )
    vt = float(rng.uniform(*vt_range))
    ts = times.ravel()
    after = ts >= start_t
    pos = np.empty((ts.size, 3))
    pos[:] = p0
    if after.any():
        p, _ = integrate_fall(
            p0,
            np.zeros(3),
            vt,
            np.concatenate([[start_t], ts[after]]),
            wind=np.array([rng.normal(0, 1.0), 0.0, 0.0]),
            max_step=0.01,
        )
        pos[after] = p[1:]
    pos = pos.reshape((*times.shape, 3))
    dt = np.clip(times - start_t, 0, None)
    f = rng.uniform(0.4, 1.2)
    amp = rng.uniform(0.3, 1.2)
    pos[..., 0] += amp * np.sin(2 * np.pi * f * dt)
    pos[..., 2] += 0.25 * amp * np.abs(np.cos(2 * np.pi * f * dt))
    colours = [(0.1, 0.45, 0.2), (0.1, 0.5, 0.6), (0.1, 0.35, 0.55), (0.15, 0.6, 0.75)]
    return Mover(
        kind="leaf",
        role="distractor",
        shape="leaf",
        size_m=float(rng.uniform(0.05, 0.12)),
        colour=np.array(colours[int(rng.integers(len(colours)))], np.float32),
        ir=0.8,
        pos=pos,
        alive=(times[:, -1] >= start_t) & (pos[:, 0, 2] > 0.05),
        aspect=1.8,
        spin_hz=float(rng.uniform(-1.5, 1.5)),
        tumble_hz=float(rng.uniform(0.5, 2)),
        phase=float(rng.uniform(0, 6.28)),
        truth={"kind": "leaf"},
    )


def _cloth_polygon(
    rng: np.random.Generator,
    spec: SceneSpec,
    anchor: np.ndarray,
    width: float,
    length: float,
    shake_hz: float,
    amp: float,
    start_t: float,
    end_t: float,
    horizontal: float,
) -> np.ndarray:
    """(F, S, K, 3) polygon of a piece of cloth hanging from ``anchor`` and moving."""
    times = spec.times
    k = 6
    xs = np.linspace(-width / 2, width / 2, k)
    active = ((times >= start_t) & (times <= end_t)).astype(np.float64)
    ph = rng.uniform(0, 2 * np.pi)
    wave = np.sin(2 * np.pi * shake_hz * times[..., None] + ph + np.linspace(0, 2.0, k))
    top = np.zeros((*times.shape, k, 3))
    top[..., 0] = anchor[0] + xs
    top[..., 1] = anchor[1]
    top[..., 2] = anchor[2]
    bottom = top.copy()
    bottom[..., 2] = anchor[2] - length + amp * active[..., None] * wave
    bottom[..., 1] = anchor[1] - amp * 0.5 * active[..., None] * (1 + wave)
    bottom[..., 0] += horizontal * active[..., None] * wave
    return np.concatenate([top, bottom[..., ::-1, :]], axis=-2)


def sample_scene(seed: int, index: int, opts: SynthOptions, name: str,
                 hard: int = 0) -> SceneSpec:
    """Everything about scene ``index`` of a run with ``seed``, with ``hard`` more
    distractors of the kinds that fall like objects (:func:`add_hard_distractors`)."""
    rng = np.random.default_rng([seed, index])
    distractor_only = bool(rng.random() < opts.distractor_share)
    night = bool(rng.random() < opts.night_share)
    rain = bool(rng.random() < opts.rain_share)
    res = _pick(rng, opts.resolutions)
    fps = float(_pick(rng, opts.fps_choices))
    width, height = RESOLUTIONS[res]
    duration = opts.distractor_duration_s if distractor_only else opts.duration_s
    frames = max(round(duration * fps), 8)
    building = sample_building(rng, opts.photo_share)
    camera = sample_camera(rng, building, width, height)
    lighting, dusk, _ = sample_lighting(rng, night)
    ir_switch = None
    if dusk is not None and rng.random() < 0.6:
        ir_switch = int(rng.integers(frames // 5, max(frames // 5 + 1, 4 * frames // 5)))
    mode = lighting.mode
    exposure = {"day": rng.uniform(1 / 500, 1 / 60), "dusk": rng.uniform(1 / 60, 1 / 30)}.get(
        mode, rng.uniform(0.5, 0.95) / fps
    )
    noise = {
        "day": rng.uniform(1.0, 3.0),
        "dusk": rng.uniform(2.5, 4.5),
        "night": rng.uniform(3.5, 7.0),
        "ir": rng.uniform(2.5, 6.0),
    }[mode]
    spec = SceneSpec(
        name=name,
        seed=seed,
        index=index,
        fps=fps,
        frames=frames,
        resolution=res,
        camera=camera,
        building=building,
        lighting=lighting,
        ir_switch_frame=ir_switch,
        exposure_s=float(exposure),
        noise_sigma=float(noise),
        shake_px=0.0,
        cloud_change=0.0,
        rain_drops=int(rng.integers(150, 900) * (width * height) / (1920 * 1080) ** 1)
        if rain
        else 0,
        tree=bool(rng.random() < opts.tree_share),
        movers=[],
        light_toggles=[],
        curtains=[],
        bitrate=int(BITRATES[res] * fps / 25.0 * rng.uniform(0.8, 1.25)),
        subsamples=7,
        distractor_only=distractor_only,
    )
    duration_s = frames / fps
    windows = _visible_windows(camera, building, 0.04)
    # --- falling objects
    if not distractor_only and windows:
        n = int(rng.integers(1, opts.max_objects + 1))
        wall_lum = float(building.wall_bgr @ np.array([0.114, 0.587, 0.299], np.float32))
        if mode == "ir":
            wall_lum = 0.35
        elif mode == "night":
            wall_lum = 0.05
        for _ in range(n):
            fi, ci = windows[int(rng.integers(len(windows)))]
            latest = max(0.6, duration_s - 4.5)
            release_t = float(rng.uniform(0.5, latest))
            spec.movers.append(sample_object(rng, spec, fi, ci, release_t, wall_lum))
    # --- distractors: each scene gets a random handful; distractor-only scenes more
    n_d = int(rng.integers(2, 5)) if distractor_only else int(rng.integers(0, 3))
    kinds = list(rng.choice(DISTRACTOR_KINDS, size=n_d, replace=False)) if n_d else []
    if mode in ("night", "ir") and rng.random() < 0.6 and "insects" not in kinds:
        kinds.append("insects")
    for kind in kinds:
        if kind == "bird":
            for _ in range(int(rng.integers(1, 4))):
                beh = _pick(rng, (("level", 0.35), ("glide", 0.35), ("swoop", 0.3)))
                spec.movers.append(_bird(rng, spec, beh, float(rng.uniform(-2, duration_s - 1))))
        elif kind == "flock":
            start = float(rng.uniform(-2, max(0.0, duration_s - 4)))
            base = {
                "y": -float(rng.uniform(5, 30)),
                "z": float(rng.uniform(0.4, 1.0) * building.height_m),
                "speed": float(rng.uniform(6, 14)),
                "dir": 1.0 if rng.random() < 0.5 else -1.0,
            }
            for _ in range(int(rng.integers(5, 25))):
                spec.movers.append(
                    _bird(rng, spec, "flock", start + float(rng.normal(0, 0.4)), base)
                )
        elif kind == "leaves":
            for _ in range(int(rng.integers(2, 8))):
                spec.movers.append(_leaf(rng, spec, float(rng.uniform(-3, duration_s - 1))))
        elif kind in ("towel", "laundry") and windows:
            fi, ci = windows[int(rng.integers(len(windows)))]
            x, _z = building.window_centre(fi, ci)
            if kind == "towel":
                anchor = np.array([x, -0.35, fi * building.floor_height_m + 1.0])
                start = float(rng.uniform(0, max(0.1, duration_s - 5)))
                poly = _cloth_polygon(
                    rng,
                    spec,
                    anchor,
                    float(rng.uniform(0.5, 0.9)),
                    float(rng.uniform(0.6, 1.2)),
                    float(rng.uniform(1.5, 3.5)),
                    float(rng.uniform(0.25, 0.6)),
                    start,
                    start + float(rng.uniform(2, 6)),
                    0.1,
                )
                col = np.array(
                    [[0.9, 0.9, 0.9], [0.2, 0.4, 0.85], [0.7, 0.3, 0.2]][int(rng.integers(3))],
                    np.float32,
                )
            else:
                anchor = np.array([x, -1.2, fi * building.floor_height_m + 1.1])
                poly = _cloth_polygon(
                    rng,
                    spec,
                    anchor,
                    float(rng.uniform(0.4, 1.2)),
                    float(rng.uniform(0.5, 0.9)),
                    float(rng.uniform(0.3, 1.2)),
                    float(rng.uniform(0.1, 0.3)),
                    -1.0,
                    duration_s + 1,
                    0.25,
                )
                col = rng.uniform(0.2, 0.95, 3).astype(np.float32)
            spec.movers.append(
                Mover(
                    kind=kind,
                    role="distractor",
                    shape="polygon",
                    size_m=0.8,
                    colour=col,
                    ir=0.7,
                    pos=poly.mean(axis=2),
                    alive=np.ones(frames, bool),
                    polygon=poly,
                    truth={"kind": kind, "floor": fi + 1},
                )
            )
        elif kind == "insects":
            for _ in range(int(rng.integers(1, 4))):
                spec.movers.append(_insect(rng, spec))
        elif kind == "lights" and windows:
            for _ in range(int(rng.integers(2, 10))):
                fi, ci = windows[int(rng.integers(len(windows)))]
                spec.light_toggles.append((int(rng.integers(1, frames)), fi, ci))
        elif kind == "curtain" and windows:
            for _ in range(int(rng.integers(1, 3))):
                fi, ci = windows[int(rng.integers(len(windows)))]
                s0 = int(rng.integers(0, max(1, frames - 10)))
                spec.curtains.append(
                    (fi, ci, s0, s0 + int(rng.uniform(1.5, 5) * fps), float(rng.uniform(0, 1)))
                )
        elif kind == "shake":
            spec.shake_px = float(rng.uniform(0.5, 4.0) * width / 1920)
        elif kind == "clouds":
            spec.cloud_change = float(rng.uniform(0.1, 0.35))
    if hard:
        add_hard_distractors(spec, hard, seed)
    return spec


def _insect(rng: np.random.Generator, spec: SceneSpec) -> Mover:
    """A moth near the lens: a big, soft, bright disc wandering erratically (picture space)."""
    W, H = spec.camera.width, spec.camera.height
    times = spec.times
    n = times.shape[0]
    dt = 1.0 / spec.fps
    p = np.array([rng.uniform(0, W), rng.uniform(0, H)])
    v = rng.normal(0, 0.2 * W, 2)
    traj = np.empty((n, 2))
    for i in range(n):
        v += -1.5 * v * dt + rng.normal(0, 0.6 * W, 2) * np.sqrt(dt)
        p = p + v * dt
        traj[i] = p
    radius = float(rng.uniform(0.006, 0.03) * W)
    pos = np.empty((*times.shape, 3))
    frac = (
        (np.arange(spec.subsamples) / max(spec.subsamples - 1, 1) - 0.5)
        * spec.exposure_s
        * spec.fps
    )
    nxt = np.vstack([traj[1:], traj[-1:]])
    pos[..., :2] = traj[:, None, :] + frac[None, :, None] * (nxt - traj)[:, None, :]
    pos[..., 2] = radius * (1 + 0.2 * np.sin(np.arange(n) / spec.fps * 7))[:, None]
    start = int(rng.integers(0, max(1, n - 20)))
    alive = np.zeros(n, bool)
    alive[start : start + int(rng.integers(20, max(21, n)))] = True
    return Mover(
        kind="insect",
        role="distractor",
        shape="disc",
        size_m=0.0,
        colour=np.full(3, 0.8, np.float32),
        ir=float(rng.uniform(0.6, 1.0)),
        pos=pos,
        alive=alive,
        space="camera",
        soft=0.6,
        truth={"kind": "insect"},
    )


def add_flock(spec: SceneSpec, count: int, start_t: float, seed: int) -> None:
    """Append a flock of ``count`` birds to ``spec``, crossing the picture from ``start_t`` s.

    For benchmarks that vary the number of moving things in a scene. It draws from its own
    generator (seeded with ``seed``), so the rest of the scene is unchanged and the same
    arguments give the same flock.
    """
    rng = np.random.default_rng([seed, 77])
    base = {
        "y": -float(rng.uniform(5, 20)),
        "z": float(rng.uniform(0.4, 0.8) * spec.building.height_m),
        "speed": float(rng.uniform(6, 10)),
        "dir": 1.0 if rng.random() < 0.5 else -1.0,
    }
    for _ in range(count):
        spec.movers.append(_bird(rng, spec, "flock", start_t + float(rng.normal(0, 0.4)), base))


HARD_KINDS = (
    ("glide", 0.15),
    ("stoop", 0.2),
    ("swoop", 0.05),
    ("leaf", 0.3),
    ("towel", 0.1),
    ("insect", 0.2),
)


def _stoop(rng: np.random.Generator, spec: SceneSpec, start_t: float) -> Mover:
    """A bird that folds its wings and dives, speeding up like a falling body, then pulls out."""
    b, cam = spec.building, spec.camera
    times = spec.times
    dt = times - start_t
    direction = 1.0 if rng.random() < 0.5 else -1.0
    p0 = np.array([cam.C[0] + rng.uniform(-15, 15), -rng.uniform(1.0, 10.0),
                   rng.uniform(0.5, 0.95) * b.height_m])
    vh = direction * float(rng.uniform(1.0, 6.0))
    acc = float(rng.uniform(0.45, 0.95) * 9.81)
    dur = float(rng.uniform(0.8, 2.0))
    tau = float(rng.uniform(0.2, 0.5))
    td = np.clip(dt, 0.0, dur)
    after = np.clip(dt - dur, 0.0, None)
    vz_end = acc * dur
    z = p0[2] - 0.5 * acc * td**2 - vz_end * tau * (1 - np.exp(-after / tau))
    pos = np.empty((*times.shape, 3))
    pos[..., 0] = p0[0] + vh * np.clip(dt, 0.0, None) - direction * 3.0 * np.minimum(dt, 0.0)
    pos[..., 1] = p0[1]
    pos[..., 2] = np.where(dt < 0, p0[2] + 0.2 * np.sin(dt), z)
    colour = np.array([rng.uniform(0.1, 0.45)] * 3, np.float32)
    return Mover(
        kind="bird", role="distractor", shape="bird", size_m=float(rng.uniform(0.2, 0.45)),
        colour=colour, ir=float(rng.uniform(0.3, 0.7)), pos=pos,
        alive=(times[:, -1] >= start_t - 1.0) & (times[:, 0] <= start_t + dur + 3.0),
        flap_hz=0.0, phase=float(rng.uniform(0, 2 * np.pi)),
        truth={"kind": "bird", "behaviour": "stoop"},
    )


def add_hard_distractors(spec: SceneSpec, count: int, seed: int) -> None:
    """Append ``count`` distractors of the kinds that fall or swoop like objects.

    Birds gliding down onto a ledge, swooping, or diving with folded wings (speeding up like
    a falling body, then pulling out), leaves and heavier ones that fall faster, a towel
    shaken from a window, moths at the lens (the lens at any hour): what training a classifier needs
    many of. It draws from its own generator (seeded with ``seed`` and the scene index),
    so the rest of the scene is unchanged and the same arguments give the same movers.
    """
    rng = np.random.default_rng([seed, spec.index, 79])
    duration_s = spec.frames / spec.fps
    windows = _visible_windows(spec.camera, spec.building, 0.04)
    for _ in range(count):
        kind = _pick(rng, HARD_KINDS)
        start = float(rng.uniform(-1.0, max(0.0, duration_s - 1.5)))
        if kind in ("glide", "swoop"):
            spec.movers.append(_bird(rng, spec, kind, start))
        elif kind == "stoop":
            spec.movers.append(_stoop(rng, spec, start))
        elif kind == "leaf":
            spec.movers.append(_leaf(rng, spec, start, (1.5, 6.0)))
        elif kind == "insect":
            spec.movers.append(_insect(rng, spec))
        elif windows:
            fi, ci = windows[int(rng.integers(len(windows)))]
            x, _z = spec.building.window_centre(fi, ci)
            anchor = np.array([x, -0.35, fi * spec.building.floor_height_m + 1.0])
            poly = _cloth_polygon(rng, spec, anchor, float(rng.uniform(0.5, 0.9)),
                                  float(rng.uniform(0.6, 1.2)), float(rng.uniform(1.5, 3.5)),
                                  float(rng.uniform(0.25, 0.6)), start,
                                  start + float(rng.uniform(2, 6)), 0.1)
            spec.movers.append(Mover(
                kind="towel", role="distractor", shape="polygon", size_m=0.8,
                colour=np.array([[0.9, 0.9, 0.9], [0.2, 0.4, 0.85],
                                 [0.7, 0.3, 0.2]][int(rng.integers(3))], np.float32),
                ir=0.7, pos=poly.mean(axis=2), alive=np.ones(spec.frames, bool), polygon=poly,
                truth={"kind": "towel", "floor": fi + 1},
            ))
