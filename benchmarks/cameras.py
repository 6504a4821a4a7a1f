"""Scaling with cameras: ``fallwatch watch`` on this machine with 1..N RTSP cameras.

Each camera is a GStreamer RTSP server on loopback (the live tests' ``RtspServer``, run by
Debian's python3 with gi) serving the same looped generated scene; ``fallwatch watch``
runs one worker process per camera. After every camera is streaming and a short
warm-up, the workers' CPU time (user + system from ``/proc/PID/stat``) is read over a
window of wall time: ``cores`` is the CPU seconds all workers used per wall second,
``cpu_ms_per_frame`` their CPU per frame analysed, with the frames each camera analysed
and dropped (a worker drops frames rather than fall behind real time) and its memory.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import ROOT, SceneRequest, make_scene

log = logging.getLogger(__name__)

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _status(store: Any, camera_id: str) -> Any:
    """The store's live status of ``camera_id`` (it must be there)."""
    cam = store.get_camera(camera_id)
    if cam is None:
        raise RuntimeError(f"camera {camera_id!r} is missing from the store")
    return cam


def measure_cameras(counts: list[int], seconds: float, scene: SceneRequest) -> dict[str, Any]:
    """Run ``watch`` with each number of cameras in ``counts``; the numbers per run."""
    sys.path.insert(0, str(ROOT))
    from pipelines.store import EventStore
    from tests.live.conftest import RtspServer, loop_clip, wait_for

    video = make_scene(scene)
    runs = []
    with tempfile.TemporaryDirectory(prefix="fallwatch-cams-") as tmp_name:
        tmp = Path(tmp_name)
        clip = loop_clip(video, tmp / "looped.mp4", max(2, int((seconds + 60) / scene.duration_s)))
        for n in counts:
            servers = [RtspServer(clip, tmp).start() for _ in range(n)]
            data = tmp / f"data{n}"
            site = {"cameras": [{"id": f"cam{i}", "source": s.url()}
                                for i, s in enumerate(servers)],
                    "live": {"heartbeat_s": 0.5}}
            (tmp / f"site{n}.yaml").write_text(yaml.safe_dump(site), encoding="utf-8")
            env = dict(os.environ, FALLWATCH_HOME=str(tmp / "home"))
            watch = subprocess.Popen(
                [sys.executable, "-m", "pipelines.cli", "watch", "--config",
                 str(tmp / f"site{n}.yaml"), "--data", str(data)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for((data / "fallwatch.db").exists, 90, "the store")
                store = EventStore.open(data)
                ids = [f"cam{i}" for i in range(n)]

                def all_streaming(store: Any = store, ids: list[str] = ids) -> bool:
                    cams = [store.get_camera(c) for c in ids]
                    return all(c is not None and c.state == "streaming" for c in cams)

                wait_for(all_streaming, 120, f"{n} cameras streaming")
                time.sleep(3.0)  # warm-up: background models settle
                cams = {c: _status(store, c) for c in ids}
                pids = {c: int(cams[c].worker_pid) for c in ids}
                c0 = {c: _cpu_s(p) for c, p in pids.items()}
                f0 = {c: cams[c].frames for c in ids}
                d0 = {c: cams[c].dropped_frames for c in ids}
                t0 = time.monotonic()
                time.sleep(seconds)
                wall = time.monotonic() - t0
                c1 = {c: _cpu_s(p) for c, p in pids.items()}
                cams = {c: _status(store, c) for c in ids}
                frames = sum(cams[c].frames - f0[c] for c in ids)
                dropped = sum(cams[c].dropped_frames - d0[c] for c in ids)
                cpu = sum(c1[c] - c0[c] for c in ids)
                runs.append({
                    "cameras": n,
                    "window_s": round(wall, 2),
                    "cores": cpu / wall,
                    "cores_per_camera": cpu / wall / n,
                    "cpu_ms_per_frame": 1e3 * cpu / max(frames, 1),
                    "fps_per_camera": frames / wall / n,  # analysed
                    "received_fps_per_camera": (frames + dropped) / wall / n,
                    "dropped_per_camera_per_s": dropped / wall / n,
                    "rss_mib_per_worker": sum(_rss_kib(p) for p in pids.values()) / n / 1024,
                    "loadavg": os.getloadavg()[0],
                })
                log.info("%d cameras: %.2f cores, %.1f fps per camera, %.1f dropped/s per camera",
                         n, runs[-1]["cores"], runs[-1]["fps_per_camera"],
                         runs[-1]["dropped_per_camera_per_s"])
                store.close()
            finally:
                watch.terminate()
                try:
                    watch.wait(60)
                except subprocess.TimeoutExpired:
                    watch.kill()
                    watch.wait(10)
                for s in servers:
                    s.kill()
    return {"measured": True, "scene": video.name, "fps": scene.fps, "runs": runs}
