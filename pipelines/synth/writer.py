"""Writing a rendered scene: H.264 video, ground truth and camera file.

Each file is written under a temporary name and renamed when complete, so an
interrupted run never leaves a scene that looks whole. The video is H.264 in MP4
with a camera-like fixed GOP (2 s), no B-frames and a capped bit rate.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from pipelines.camera import BalconySpec, CameraFile, FacadeSpec, dump_camera
from pipelines.synth.render import SceneRenderer
from pipelines.synth.scene import BALCONY_RAIL_M, SceneSpec

GENERATOR_VERSION = "1"


def facade_points(spec: SceneSpec, rng: np.random.Generator) -> FacadeSpec:
    """Four wall points (corners of the largest storey/bay rectangle in view) and their
    pixels, and the building's balconies (each column's stack, at the middle of the rail
    depths releases are drawn from).

    The pixels carry a little noise (an installer clicks to about half a pixel).
    """
    b, cam = spec.building, spec.camera
    xs = np.arange(b.cols + 1) * b.bay_m
    zs = np.arange(b.floors + 1) * b.floor_height_m
    X, Z = np.meshgrid(xs, zs)
    pts = np.stack([X.ravel(), np.zeros(X.size), Z.ravel()], axis=1)
    uv, depth = cam.project(pts)
    m = 0.03
    ok = (
        (depth > 0)
        & (uv[:, 0] > m * cam.width)
        & (uv[:, 0] < (1 - m) * cam.width)
        & (uv[:, 1] > m * cam.height)
        & (uv[:, 1] < (1 - m) * cam.height)
    ).reshape(X.shape)
    best: tuple[float, int, int, int, int] | None = None
    _nz, nx = ok.shape
    for i0 in range(nx):
        for i1 in range(i0 + 1, nx):
            both = ok[:, i0] & ok[:, i1]
            rows = np.nonzero(both)[0]
            if rows.size < 2:
                continue
            j0, j1 = rows[0], rows[-1]
            area = (xs[i1] - xs[i0]) * (zs[j1] - zs[j0])
            if best is None or area > best[0]:
                best = (area, i0, i1, j0, j1)
    if best is None:
        raise RuntimeError(f"scene {spec.name}: no facade rectangle in view for the calibration")
    _, i0, i1, j0, j1 = best
    wall = [(xs[i0], zs[j1]), (xs[i1], zs[j1]), (xs[i1], zs[j0]), (xs[i0], zs[j0])]
    img, _ = cam.project(np.array([[x, 0.0, z] for x, z in wall]))
    img = img + rng.normal(0, 0.5, img.shape)
    return FacadeSpec(
        image_points=[(float(u), float(v)) for u, v in img],
        facade_points=[(float(x), float(z)) for x, z in wall],
        floor_height_m=round(b.floor_height_m, 4),
        first_floor=1,
        balconies=[
            BalconySpec(x_m=(ci * b.bay_m, (ci + 1) * b.bay_m),
                        z_m=(float(rows.min()) * b.floor_height_m,
                             float(rows.max() + 1) * b.floor_height_m),
                        depth_m=round(sum(BALCONY_RAIL_M) / 2, 3))
            for ci in range(b.cols) if (rows := np.flatnonzero(b.balcony[:, ci])).size],
    )


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _start_time(spec: SceneSpec) -> datetime:
    rng = np.random.default_rng([spec.seed, spec.index, 11])
    hour = {
        "day": rng.uniform(9, 16),
        "dusk": rng.uniform(17.5, 19),
        "night": rng.uniform(21, 27),
        "ir": rng.uniform(21, 27),
    }[spec.lighting.mode]
    day = datetime(2026, 6, 1, tzinfo=UTC) + timedelta(days=int(rng.integers(0, 120)))
    return day + timedelta(hours=float(hour))


def write_scene(spec: SceneSpec, out_dir: Path) -> dict[str, Any]:
    """Render and write ``NAME.mp4``, ``NAME.truth.json`` and ``NAME.yaml``; return stats."""
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / f"{spec.name}.mp4"
    tmp_video = out_dir / f".{spec.name}.mp4.part"
    renderer = SceneRenderer(spec)
    start = _start_time(spec)
    W, H = spec.camera.width, spec.camera.height
    gop = round(2 * spec.fps)
    kbps = spec.bitrate // 1000
    t0 = time.perf_counter()
    render_s = 0.0
    with av.open(str(tmp_video), "w", format="mp4") as out:
        out.metadata["creation_time"] = start.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        stream = out.add_stream("libx264", rate=round(spec.fps))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.bit_rate = spec.bitrate
        stream.options = {
            "preset": "veryfast",
            "profile": "main",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:"
            f"vbv-maxrate={int(kbps * 1.2)}:vbv-bufsize={kbps}",
        }
        # one encoder thread: x264's threaded rate control made 1080p output differ from run
        # to run (decoded frames too); parallelism comes from rendering scenes side by side
        stream.thread_count = 1
        it = renderer.frames()
        for i in range(spec.frames):
            r0 = time.perf_counter()
            frame = next(it)
            yuv: np.ndarray = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420), np.uint8)
            render_s += time.perf_counter() - r0
            vf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            vf.pts = i
            for pkt in stream.encode(vf):
                out.mux(pkt)
        for pkt in stream.encode(None):
            out.mux(pkt)
    total_s = time.perf_counter() - t0
    os.replace(tmp_video, video)
    labels = renderer.truth()
    truth = {
        "video": video.name,
        "fps": spec.fps,
        "frames": spec.frames,
        "width": W,
        "height": H,
        "objects": labels["objects"],
        "distractors": labels["distractors"],
        "scene": {
            "generator_version": GENERATOR_VERSION,
            "seed": spec.seed,
            "index": spec.index,
            "resolution": spec.resolution,
            "lighting": spec.lighting.mode,
            "distractor_only": spec.distractor_only,
            "facade_texture": spec.building.photo or "procedural",
            "floors": spec.building.floors,
            "exposure_s": round(spec.exposure_s, 5),
            "noise_sigma": round(spec.noise_sigma, 2),
            "bitrate": spec.bitrate,
            "camera": {
                "position_m": [round(float(v), 3) for v in spec.camera.position],
                "yaw_deg": round(spec.camera.yaw_deg, 3),
                "pitch_deg": round(spec.camera.pitch_deg, 3),
                "roll_deg": round(spec.camera.roll_deg, 3),
                "hfov_deg": round(spec.camera.hfov_deg, 3),
            },
            "start_time_utc": start.isoformat().replace("+00:00", "Z"),
        },
    }
    cam = CameraFile(
        id=spec.name,
        source=video.name,
        facade=facade_points(spec, np.random.default_rng([spec.seed, spec.index, 13])),
    )
    _atomic_write_text(out_dir / f"{spec.name}.yaml", dump_camera(cam))
    _atomic_write_text(out_dir / f"{spec.name}.truth.json", json.dumps(truth, indent=1) + "\n")
    return {
        "name": spec.name,
        "frames": spec.frames,
        "resolution": spec.resolution,
        "render_fps": spec.frames / max(render_s, 1e-9),
        "total_fps": spec.frames / max(total_s, 1e-9),
    }
