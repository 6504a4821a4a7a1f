"""Live cameras: CPU and memory per 1080p camera worker, alert latency, reconnection time.

Runs ``fallwatch watch`` as a user would, against GStreamer RTSP servers on loopback:

- ``quiet``: a generated 1080p scene with distractors only (no events), looped: the
  steady-state cost of watching a camera all day;
- ``events``: the 1080p sample ``sample_videos/day_7_0000.mp4`` (two drops every 6 s),
  looped, with a webhook receiver: alert latency (webhook receipt - the event's
  ``confirmed_utc``), and reconnection time: its server is killed, kept down ``--down-s``,
  and restarted; the time from the restarted server listening to the camera's first frame
  (state ``streaming`` again), with the default backoff (1 s doubling, jitter 0.5-1.5).

CPU per camera = the worker process's CPU time (user + system, /proc) over a window of
wall time; memory = its resident set (VmRSS, and the peak VmHWM). Both cameras run at
once on this machine (2 cores, shared), so the figures include contention.

    python benchmarks/live_camera.py [--seconds 30] [--restarts 3] [--out scratch/live/bench]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.store import EventStore  # noqa: E402
from tests.live.conftest import RtspServer, free_port, loop_clip, wait_for  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def mem_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def receiver() -> tuple[str, list[tuple[float, dict[str, Any]]]]:
    got: list[tuple[float, dict[str, Any]]] = []
    port = free_port()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.append((time.time(), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}/", got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="CPU measuring window")
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--down-s", type=float, default=2.0)
    ap.add_argument("--out", type=Path, default=ROOT / "scratch" / "live" / "bench")
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    quiet_src = out / "scene_777_0000.mp4"
    if not quiet_src.exists():
        subprocess.run([sys.executable, "-m", "pipelines.cli", "synth", str(out), "--count",
                        "1", "--seed", "777", "--duration", "10", "--resolutions", "1080p:1",
                        "--distractor-share", "1", "--distractor-duration", "10", "--jobs",
                        "1"], cwd=ROOT, check=True, capture_output=True)
    quiet = loop_clip(quiet_src, out / "quiet.mp4", 30)
    events = loop_clip(ROOT / "sample_videos" / "day_7_0000.mp4", out / "events.mp4", 50)
    cam_events = yaml.safe_load((ROOT / "sample_videos" / "day_7_0000.yaml").read_text())
    srv_q = RtspServer(quiet, out).start()
    srv_e = RtspServer(events, out).start()
    hook_url, hooked = receiver()
    data = out / f"data_{int(time.time())}"
    site = {"cameras": [{"id": "quiet", "source": srv_q.url("bench:pw")},
                        dict(cam_events, id="events", source=srv_e.url("bench:pw"))],
            "live": {"heartbeat_s": 0.5}}
    (out / "site.yaml").write_text(yaml.safe_dump(site))
    env = dict(os.environ, FALLWATCH_HOME=str(out / "home"))
    watch = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "watch", "--config",
                              str(out / "site.yaml"), "--data", str(data), "--webhook",
                              hook_url], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    results: dict[str, Any] = {"machine_cpus": os.cpu_count(),
                               "loadavg_start": os.getloadavg()}
    try:
        wait_for(lambda: (data / "fallwatch.db").exists(), 60, "the store")
        store = EventStore.open(data)

        def cam(cid: str) -> Any:
            return store.get_camera(cid)

        def streaming(cid: str) -> bool:
            c = cam(cid)
            return c is not None and c.state == "streaming"

        for cid in ("quiet", "events"):
            wait_for(functools.partial(streaming, cid), 60, cid)
        time.sleep(5.0)  # warm-up: background models settle, first evidence written
        pids = {cid: cam(cid).worker_pid for cid in ("quiet", "events")}
        pids["supervisor"] = watch.pid
        c0 = {k: cpu_s(p) for k, p in pids.items()}
        f0 = {cid: cam(cid).frames + cam(cid).dropped_frames for cid in ("quiet", "events")}
        t0 = time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - t0
        c1 = {k: cpu_s(p) for k, p in pids.items()}
        f1 = {cid: cam(cid).frames + cam(cid).dropped_frames for cid in ("quiet", "events")}
        for k, p in pids.items():
            entry: dict[str, Any] = {"cpu_per_wall": round((c1[k] - c0[k]) / wall, 3),
                                     **mem_kb(p)}
            if k in f0:
                c = cam(k)
                frames = max(f1[k] - f0[k], 1)
                entry.update(fps_received=round(frames / wall, 1),
                             cpu_ms_per_frame=round(1000 * (c1[k] - c0[k]) / frames, 1),
                             dropped_total=c.dropped_frames, width=c.width, height=c.height)
            results[k] = entry
        latencies = []
        for t, doc in hooked:
            confirmed = datetime.fromisoformat(doc["confirmed_utc"].replace("Z", "+00:00"))
            latencies.append(round(t - confirmed.timestamp(), 3))
        results["alert_latency_s"] = {"n": len(latencies),
                                      "max": max(latencies) if latencies else None,
                                      "median": sorted(latencies)[len(latencies) // 2]
                                      if latencies else None}
        reconnect = []
        for _ in range(args.restarts):
            srv_e.kill()
            wait_for(lambda: cam("events").state != "streaming", 30, "the outage noticed")
            time.sleep(args.down_s)
            srv_e.start()
            up = time.monotonic()
            wait_for(lambda: streaming("events"), 60, "streaming again", step=0.05)
            reconnect.append(round(time.monotonic() - up, 2))
            time.sleep(3.0)
        results["reconnect_s_after_server_up"] = reconnect
        results["down_s"] = args.down_s
        results["loadavg_end"] = os.getloadavg()
        store.close()
    finally:
        watch.terminate()
        watch.wait(60)
        srv_q.kill()
        srv_e.kill()
    text = json.dumps(results, indent=2)
    (out / "results.json").write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
