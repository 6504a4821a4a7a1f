"""Drawing a sampled scene frame by frame, and labelling what is visible.

Per frame: the static picture (with lights switched and curtains drawn as the scene
says), every moving thing with motion blur over the exposure (supersampled small
patches, so a 2-pixel bottle is still drawn faithfully), the tree in front,
insects at the lens, rain, cloud light, camera shake and sensor noise. Only small
patches are touched per moving thing; the full-frame steps are OpenCV kernels.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from pipelines.synth.facade import FacadeRenderer, Lighting, Tree, make_tree
from pipelines.synth.scene import Mover, SceneSpec

_BIRD = np.array(
    [
        [1.0, 0.0],
        [0.2, 0.12],
        [0.0, 1.0],
        [-0.25, 0.15],
        [-0.7, 0.08],
        [-0.7, -0.08],
        [-0.25, -0.15],
        [0.0, -1.0],
        [0.2, -0.12],
    ]
)


def _unit_shape(shape: str, aspect: float, t: float, phase: float) -> np.ndarray:
    """(K, 2) outline of a shape of radius 1 (long axis along x)."""
    w = 1.0 / max(aspect, 1.0)
    if shape == "bottle":
        return np.array(
            [
                [-1, -w],
                [0.35, -w],
                [0.6, -0.4 * w],
                [1, -0.4 * w],
                [1, 0.4 * w],
                [0.6, 0.4 * w],
                [0.35, w],
                [-1, w],
            ],
            dtype=np.float64,
        )
    if shape == "box":
        return np.array([[-1, -w], [1, -w], [1, w], [-1, w]], dtype=np.float64)
    if shape == "pot":
        return np.array(
            [[-0.8 * w, -1], [0.8 * w, -1], [0.55 * w, 1], [-0.55 * w, 1]], dtype=np.float64
        )
    a = np.linspace(0, 2 * np.pi, 14, endpoint=False)
    r = np.ones_like(a)
    if shape == "blob":
        r = 1 + 0.15 * np.sin(3 * a + phase + 2.0 * t)
    elif shape == "cloth":
        r = 0.75 + 0.3 * np.sin(2 * a + phase + 7.0 * t) * np.cos(3 * a - 5.0 * t)
    return np.stack([r * np.cos(a), r * w * np.sin(a)], axis=1)


def _raster(polys: list[np.ndarray], width: int, height: int) -> tuple[int, int, np.ndarray] | None:
    """Mean coverage of the polygons (pixel coordinates), supersampled, clipped to the picture."""
    allp = np.concatenate(polys)
    x0 = int(np.floor(allp[:, 0].min())) - 1
    y0 = int(np.floor(allp[:, 1].min())) - 1
    x1 = int(np.ceil(allp[:, 0].max())) + 2
    y1 = int(np.ceil(allp[:, 1].max())) + 2
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    w, h = x1 - x0, y1 - y0
    if w * h > 4_000_000:
        return None
    side = max(w, h)
    ss = 8 if side < 24 else 4 if side < 96 else 2 if side < 400 else 1
    acc = np.zeros((h * ss, w * ss), np.float32)
    tmp = np.zeros((h * ss, w * ss), np.uint8)
    for p in polys:
        tmp.fill(0)
        pts = np.round((p - (x0, y0)) * ss * 8).astype(np.int32)
        cv2.fillPoly(tmp, [pts], 255, lineType=cv2.LINE_AA, shift=3)
        acc += tmp
    cov = cv2.resize(acc, (w, h), interpolation=cv2.INTER_AREA) / (255.0 * len(polys))
    return cx0, cy0, cov[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]


class SceneRenderer:
    """Renders a :class:`SceneSpec` frame by frame and keeps the labels."""

    def __init__(self, spec: SceneSpec, tree: Tree | None = None):
        """``tree`` replaces the scene's own tree (tests place one where they need it)."""
        self.spec = spec
        cam = spec.camera
        self.W, self.H = cam.width, cam.height
        rng = np.random.default_rng([spec.seed, spec.index, 7])
        self.rng = rng
        self.facade = FacadeRenderer(cam, spec.building, rng)
        self.modes = [spec.lighting.mode] + (["ir"] if spec.ir_switch_frame is not None else [])
        self.lightings: dict[str, Lighting] = {spec.lighting.mode: spec.lighting}
        if spec.ir_switch_frame is not None:
            self.lightings["ir"] = Lighting(
                "ir",
                1.0,
                np.zeros(3, np.float32),
                np.zeros(3, np.float32),
                spec.lighting.cloud_cover,
                ir_power=float(rng.uniform(400, 1500)),
            )
        self.bg = {m: self._to_u8(self.facade.render(self.lightings[m])) for m in self.lightings}
        if tree is None and spec.tree:
            tree = make_tree(rng, self.W, self.H)
        self.tree: Tree | None = tree
        self.tree_layers: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.tree is not None:
            x0, y0, x1, y1 = self.tree.bbox
            a = self.tree.alpha[y0:y1, x0:x1, None]
            for m, lt in self.lightings.items():
                if m == "ir":
                    col = np.repeat(self.tree.ir[y0:y1, x0:x1, None], 3, axis=2) * 0.9
                elif m == "night":
                    col = self.tree.bgr[y0:y1, x0:x1] * 0.08
                else:
                    col = self.tree.bgr[y0:y1, x0:x1] * lt.sun
                pre = np.clip(col * a * 255.0, 0, 255).astype(np.uint8)
                inv = np.clip((1.0 - a) * 255.0, 0, 255).astype(np.uint8)
                self.tree_layers[m] = (pre, np.repeat(inv, 3, axis=2))
        # sensor noise: a bank of positive and negative parts, viewed at random offsets
        sig = spec.noise_sigma
        pad = 16
        # numpy's seeded generator, not cv2.randn (OpenCV's global RNG is shared state)
        n = rng.standard_normal((self.H + pad, self.W + pad, 3), dtype=np.float32) * np.float32(sig)
        self.noise_pos = np.clip(n, 0, 255).astype(np.uint8)
        self.noise_neg = np.clip(-n, 0, 255).astype(np.uint8)
        self.pad = pad
        # rain drops in world coordinates
        self.drops = self._spawn_drops(spec.rain_drops) if spec.rain_drops else np.zeros((0, 3))
        self.drop_vel = np.array([rng.normal(0, 1.0), rng.normal(0, 0.5), -rng.uniform(6.0, 9.0)])
        self.lit_state: dict[tuple[int, int], bool] = {}
        self.shake_f = rng.uniform(1.0, 6.0, 3)
        self.shake_ph = rng.uniform(0, 2 * np.pi, 3)
        self.cloud_params = rng.uniform(0, 1, 4)
        self.tracks: dict[int, list[list[float]]] = {
            i: [] for i, m in enumerate(spec.movers) if m.role == "object"
        }
        self.seen: dict[int, list[int]] = {
            i: [] for i, m in enumerate(spec.movers) if m.role != "object"
        }

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _to_u8(img: np.ndarray) -> np.ndarray:
        out = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return cv2.GaussianBlur(out, (0, 0), 0.6)

    def _spawn_drops(self, n: int) -> np.ndarray:
        cam = self.spec.camera
        rng = self.rng
        dmin, dmax = 0.4, 12.0
        d = (rng.uniform(0, 1, n) * (dmax**3 - dmin**3) + dmin**3) ** (1 / 3)
        u = rng.uniform(-0.1, 1.1, n) * self.W
        v = rng.uniform(-0.3, 1.0, n) * self.H
        rays = cam.rays(u, v)
        rays /= np.linalg.norm(rays, axis=1, keepdims=True)
        return cam.C + rays * d[:, None]

    def mode_at(self, f: int) -> str:
        s = self.spec
        if s.ir_switch_frame is not None and f >= s.ir_switch_frame:
            return "ir"
        return s.lighting.mode

    def sway(self, f: int) -> tuple[float, float]:
        if self.tree is None:
            return 0.0, 0.0
        t = f / self.spec.fps
        a = self.tree.sway_px
        return (
            a * np.sin(2 * np.pi * self.tree.sway_hz * t) + 0.3 * a * np.sin(7.3 * t),
            0.2 * a * np.sin(2 * np.pi * self.tree.sway_hz * 1.7 * t + 1.0),
        )

    def shake(self, f: int) -> tuple[float, float]:
        a = self.spec.shake_px
        if a <= 0:
            return 0.0, 0.0
        t = f / self.spec.fps
        fq, ph = self.shake_f, self.shake_ph
        return (
            a * (0.7 * np.sin(2 * np.pi * fq[0] * t + ph[0]) + 0.3 * np.sin(2 * np.pi * fq[2] * t)),
            a
            * (
                0.7 * np.sin(2 * np.pi * fq[1] * t + ph[1])
                + 0.3 * np.sin(2 * np.pi * fq[2] * t + 2)
            ),
        )

    def _window_box(self, fi: int, ci: int) -> tuple[slice, slice] | None:
        b, cam = self.spec.building, self.spec.camera
        x0 = ci * b.bay_m
        z0 = fi * b.floor_height_m
        corners = np.array(
            [
                [x0, 0, z0],
                [x0 + b.bay_m, 0, z0],
                [x0, 0, z0 + b.floor_height_m],
                [x0 + b.bay_m, 0, z0 + b.floor_height_m],
            ]
        )
        uv, depth = cam.project(corners)
        if depth.min() <= 0:
            return None
        u0, v0 = np.floor(uv.min(axis=0)).astype(int) - 4
        u1, v1 = np.ceil(uv.max(axis=0)).astype(int) + 4
        u0, v0, u1, v1 = max(u0, 0), max(v0, 0), min(u1, self.W), min(v1, self.H)
        if u1 <= u0 or v1 <= v0:
            return None
        return slice(v0, v1), slice(u0, u1)

    def _reshade(
        self,
        fi: int,
        ci: int,
        lit_override: dict[tuple[int, int], bool] | None = None,
        curtain_override: dict[tuple[int, int], float] | None = None,
    ) -> None:
        box = self._window_box(fi, ci)
        if box is None:
            return
        rows, cols = box
        for m, lt in self.lightings.items():
            patch = self.facade.render(lt, rows, cols, lit_override, curtain_override)
            self.bg[m][rows, cols] = self._to_u8(patch)

    # ------------------------------------------------------------------ drawing
    def _colour(self, m: Mover, mode: str, depth: float) -> np.ndarray:
        lt = self.lightings[mode]
        if mode == "ir":
            lum = m.ir * min(1.2, lt.ir_power / max(depth, 0.3) ** 2)
            col = np.full(3, lum, np.float32)
        elif mode == "night":
            col = (m.colour * 0.22).astype(np.float32)
        else:
            col = (m.colour * lt.sun).astype(np.float32)
        col = col + m.emissive * np.array([0.3, 0.55, 1.0], np.float32)
        return np.clip(col * 255.0, 0, 255).astype(np.float32)

    def _polys(self, m: Mover, f: int) -> tuple[list[np.ndarray], np.ndarray, float, float] | None:
        """Outlines over the exposure; also the centre pixel at the frame instant, radius, depth."""
        cam = self.spec.camera
        S = m.pos.shape[1]
        mid = S // 2
        t = f / self.spec.fps
        if m.polygon is not None:
            P = m.polygon[f]  # (S, K, 3)
            uv, depth = cam.project(P.reshape(-1, 3))
            if depth.min() <= 0.1:
                return None
            uv = uv.reshape(P.shape[0], P.shape[1], 2)
            c_uv, c_d = cam.project(m.pos[f, mid][None])
            idx = np.linspace(0, S - 1, 3).round().astype(int)
            return [uv[i] for i in idx], c_uv[0], 0.0, float(c_d[0])
        uv, depth = cam.project(m.pos[f])
        if depth.min() <= 0.2:
            return None
        r = m.size_m / 2 * cam.focal_px / depth
        move = float(np.linalg.norm(uv[-1] - uv[0]))
        n = int(np.clip(np.ceil(move / max(0.5 * r[mid], 0.4)) + 1, 1, S))
        idx = np.unique(np.linspace(0, S - 1, n).round().astype(int)) if n > 1 else np.array([mid])
        polys = []
        for i in idx:
            ti = t + (i - mid) / max(S - 1, 1) * self.spec.exposure_s
            if m.shape == "bird":
                if i + 1 < S:
                    head = uv[i + 1] - uv[i]
                elif i > 0:
                    head = uv[i] - uv[i - 1]
                else:
                    head = np.array([1.0, 0.0])
                nrm = float(np.linalg.norm(head))
                h = head / nrm if nrm > 1e-6 else np.array([1.0, 0.0])
                flap = (
                    0.35 + 0.65 * abs(np.cos(2 * np.pi * m.flap_hz * ti + m.phase))
                    if m.flap_hz
                    else 1.0
                )
                local = _BIRD * np.array([0.45, flap])
                rot = np.array([[h[0], -h[1]], [h[1], h[0]]])
            else:
                ang = m.phase + 2 * np.pi * m.spin_hz * ti
                long = 1.0
                if m.aspect > 1.05:
                    long = 1.0 / m.aspect + (1 - 1.0 / m.aspect) * abs(
                        np.cos(2 * np.pi * m.tumble_hz * ti + m.phase)
                    )
                local = _unit_shape(m.shape, m.aspect, ti, m.phase) * np.array([long, 1.0])
                rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
            polys.append(uv[i] + (local @ rot.T) * max(r[i], 0.35))
        return polys, uv[mid], float(r[mid]), float(depth[mid])

    def _draw(
        self, frame: np.ndarray, cov: tuple[int, int, np.ndarray], colour: np.ndarray
    ) -> None:
        x0, y0, a = cov
        h, w = a.shape
        patch = frame[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
        a3 = a[..., None]
        frame[y0 : y0 + h, x0 : x0 + w] = np.clip(
            patch * (1 - a3) + colour * a3 + 0.5, 0, 255
        ).astype(np.uint8)

    def _tree_alpha(self, x0: int, y0: int, a: np.ndarray, f: int) -> np.ndarray:
        """Tree coverage over a patch, with the tree swayed as in frame f."""
        if self.tree is None:
            return np.zeros_like(a)
        sx, sy = self.sway(f)
        h, w = a.shape
        ys = np.clip(np.arange(y0, y0 + h) - round(sy), 0, self.H - 1)
        xs = np.clip(np.arange(x0, x0 + w) - round(sx), 0, self.W - 1)
        return self.tree.alpha[np.ix_(ys, xs)]

    def _composite_tree(self, frame: np.ndarray, mode: str, f: int) -> None:
        if self.tree is None:
            return
        x0, y0, x1, y1 = self.tree.bbox
        pre, inv = self.tree_layers[mode]
        sx, sy = self.sway(f)
        ix, iy = round(sx), round(sy)
        fx0, fy0 = max(x0 + ix, 0), max(y0 + iy, 0)
        fx1, fy1 = min(x1 + ix, self.W), min(y1 + iy, self.H)
        if fx1 <= fx0 or fy1 <= fy0:
            return
        lx0, ly0 = fx0 - (x0 + ix), fy0 - (y0 + iy)
        region = frame[fy0:fy1, fx0:fx1]
        p = pre[ly0 : ly0 + (fy1 - fy0), lx0 : lx0 + (fx1 - fx0)]
        i = inv[ly0 : ly0 + (fy1 - fy0), lx0 : lx0 + (fx1 - fx0)]
        frame[fy0:fy1, fx0:fx1] = cv2.add(cv2.multiply(region, i, scale=1 / 255.0), p)

    def _rain(self, frame: np.ndarray, mode: str, f: int) -> None:
        if self.drops.shape[0] == 0:
            return
        s = self.spec
        cam = s.camera
        dt = 1.0 / s.fps
        if f > 0:
            self.drops += self.drop_vel * dt
        e = max(s.exposure_s, 0.004)
        a, da = cam.project(self.drops - self.drop_vel * e / 2)
        b, db = cam.project(self.drops + self.drop_vel * e / 2)
        out = (
            (da < 0.3)
            | (db < 0.3)
            | (b[:, 1] > self.H + 50)
            | (a[:, 0] < -100)
            | (a[:, 0] > self.W + 100)
        )
        if out.any():
            self.drops[out] = self._spawn_drops(int(out.sum()))
        layer = np.zeros((self.H, self.W), np.uint8)
        bright = 130.0 if mode == "ir" else 45.0 if mode in ("day", "dusk") else 70.0
        for p, q, d in zip(a[~out], b[~out], da[~out], strict=True):
            lvl = int(np.clip(bright / (0.6 + 0.25 * d), 8, 255))
            th = int(np.clip(round(0.004 * cam.focal_px / max(d, 0.3)), 1, 4))
            cv2.line(
                layer,
                (int(p[0] * 8), int(p[1] * 8)),
                (int(q[0] * 8), int(q[1] * 8)),
                lvl,
                th,
                cv2.LINE_AA,
                shift=3,
            )
        cv2.add(frame, cv2.cvtColor(layer, cv2.COLOR_GRAY2BGR), dst=frame)

    def _clouds(self, frame: np.ndarray, f: int) -> None:
        c = self.spec.cloud_change
        if c <= 0:
            return
        t = f / self.spec.fps
        p = self.cloud_params
        g = 1.0 + c * np.sin(2 * np.pi * t / (6 + 14 * p[0]) + 6.28 * p[1])
        gy, gx = np.mgrid[0:9, 0:16]
        ang = 6.28 * p[2]
        pos = gx / 16 * np.cos(ang) + gy / 9 * np.sin(ang)
        front = -0.5 + 2.0 * ((t / (8 + 10 * p[3])) % 1.0)
        shadow = 1.0 - 0.6 * c / (1 + np.exp(-(pos - front) / 0.12))
        gain = np.clip(g * shadow * 128.0, 0, 255).astype(np.uint8)
        gain3 = cv2.resize(
            np.repeat(gain[..., None], 3, axis=2), (self.W, self.H), interpolation=cv2.INTER_LINEAR
        )
        cv2.multiply(frame, gain3, dst=frame, scale=1 / 128.0)

    # ------------------------------------------------------------------ frames
    def frames(self) -> Iterator[np.ndarray]:
        """Yield the (H, W, 3) uint8 BGR frames; labels fill in as frames are drawn."""
        s = self.spec
        toggles: dict[int, list[tuple[int, int]]] = {}
        for fr, fi, ci in s.light_toggles:
            toggles.setdefault(fr, []).append((fi, ci))
        for f in range(s.frames):
            for fi, ci in toggles.get(f, []):
                cur = self.lit_state.get((fi, ci), bool(s.building.lit[fi, ci]))
                self.lit_state[(fi, ci)] = not cur
                self._reshade(fi, ci, lit_override={(fi, ci): not cur})
            for fi, ci, c0, c1, to in s.curtains:
                if c0 <= f <= c1:
                    start = float(s.building.curtain[fi, ci])
                    frac = start + (to - start) * (f - c0) / max(c1 - c0, 1)
                    self._reshade(
                        fi,
                        ci,
                        curtain_override={(fi, ci): frac},
                        lit_override={
                            (fi, ci): self.lit_state.get((fi, ci), bool(s.building.lit[fi, ci]))
                        },
                    )
            mode = self.mode_at(f)
            frame = self.bg[mode].copy()
            sdx, sdy = self.shake(f)
            after_tree: list[tuple[int, Mover]] = []
            for i, m in enumerate(s.movers):
                if not m.alive[f]:
                    continue
                if m.space == "camera":
                    after_tree.append((i, m))
                    continue
                got = self._polys(m, f)
                if got is None:
                    continue
                polys, c, r, depth = got
                cov = _raster(polys, self.W, self.H)
                inside = 0 <= c[0] < self.W and 0 <= c[1] < self.H
                if cov is None:
                    continue
                x0, y0, a = cov
                self._draw(frame, cov, self._colour(m, mode, depth))
                total = float(a.sum())
                vis = (
                    float((a * (1 - self._tree_alpha(x0, y0, a, f))).sum()) / total
                    if total > 0
                    else 0
                )
                if not inside:
                    continue
                if m.role == "object":
                    if vis >= 0.5:
                        self.tracks[i].append(
                            [
                                f,
                                round(float(c[0]) + sdx, 2),
                                round(float(c[1]) + sdy, 2),
                                round(r, 2),
                            ]
                        )
                elif vis > 0.2:
                    self.seen[i].append(f)
            self._composite_tree(frame, mode, f)
            for i, m in after_tree:
                self._insect(frame, m, f, mode)
                self.seen[i].append(f)
            self._rain(frame, mode, f)
            self._clouds(frame, f)
            if s.shake_px > 0:
                M = np.array([[1, 0, sdx], [0, 1, sdy]], np.float32)
                frame = cv2.warpAffine(
                    frame,
                    M,
                    (self.W, self.H),
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE,
                )
            ox, oy = self.rng.integers(0, self.pad, 2)
            ox2, oy2 = self.rng.integers(0, self.pad, 2)
            cv2.add(frame, self.noise_pos[oy : oy + self.H, ox : ox + self.W], dst=frame)
            cv2.subtract(frame, self.noise_neg[oy2 : oy2 + self.H, ox2 : ox2 + self.W], dst=frame)
            yield frame

    def _insect(self, frame: np.ndarray, m: Mover, f: int, mode: str) -> None:
        p = m.pos[f]  # (S, 3) u, v, radius
        r = float(p[len(p) // 2, 2])
        a = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        circle = np.stack([np.cos(a), np.sin(a)], axis=1)
        idx = np.linspace(0, len(p) - 1, 4).round().astype(int)
        polys = [q[:2] + circle * q[2] for q in p[idx]]
        got = _raster(polys, self.W, self.H)
        if got is None:
            return
        x0, y0, cov = got
        k = int(max(3, 2 * round(m.soft * r) + 1))
        cov = cv2.GaussianBlur(cov, (k, k), 0)
        lvl = 255.0 * min(1.0, m.ir * (1.3 if mode == "ir" else 0.5))
        self._draw(frame, (x0, y0, cov), np.full(3, lvl, np.float32))

    # ------------------------------------------------------------------ labels
    def truth(self) -> dict:
        s = self.spec
        objects = []
        for i, rows in self.tracks.items():
            o = dict(s.movers[i].truth)
            kind, rf, fl = o.pop("kind"), o.pop("release_frame"), o.pop("origin_floor")
            objects.append(
                {"kind": kind, "release_frame": rf, "origin_floor": fl, "track": rows, **o}
            )
        distractors = []
        for i, frames in self.seen.items():
            if not frames:
                continue
            d = dict(s.movers[i].truth)
            distractors.append(
                {
                    "kind": d.pop("kind"),
                    "first_frame": int(min(frames)),
                    "last_frame": int(max(frames)),
                    **d,
                }
            )
        whole = {"first_frame": 0, "last_frame": s.frames - 1}
        if s.rain_drops:
            distractors.append({"kind": "rain", **whole, "drops": s.rain_drops})
        if s.shake_px:
            distractors.append(
                {"kind": "camera_shake", **whole, "amplitude_px": round(s.shake_px, 2)}
            )
        if s.cloud_change:
            distractors.append({"kind": "cloud_light", **whole, "depth": round(s.cloud_change, 3)})
        if s.tree and self.tree is not None:
            distractors.append(
                {"kind": "tree_sway", **whole, "amplitude_px": round(self.tree.sway_px, 2)}
            )
        for fr, fi, _ci in s.light_toggles:
            distractors.append(
                {"kind": "light_switch", "first_frame": fr, "last_frame": fr, "floor": fi + 1}
            )
        for fi, _ci, c0, c1, _to in s.curtains:
            distractors.append(
                {
                    "kind": "curtain",
                    "first_frame": c0,
                    "last_frame": min(c1, s.frames - 1),
                    "floor": fi + 1,
                }
            )
        if s.ir_switch_frame is not None:
            distractors.append(
                {
                    "kind": "ir_switch",
                    "first_frame": s.ir_switch_frame,
                    "last_frame": s.ir_switch_frame,
                }
            )
        return {"objects": objects, "distractors": distractors}
