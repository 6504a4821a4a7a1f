"""Evidence: pre-roll memory of a 1080p 4 Mbit/s stream, and last sighting -> folder complete.

Two measurements, one run each (numbers from a shared 2-core machine are noisy):

1. **Pre-roll memory.** Encodes ``--seconds`` of 1080p25 H.264 at a constant 4 Mbit/s
   (x264 CBR with filler, GOP 2 s, as an IP camera sends it), feeds every packet through a
   ``PacketRing(keep_s=--preroll)`` and reports the most encoded bytes it held and the
   Python heap it took (tracemalloc peak: bytes objects + per-packet records).

2. **Latency.** Runs what ``fallwatch analyze --clips-dir`` runs (decoder, detector,
   ``EvidenceWriter``) over a labelled 1080p scene, fed at the video's own rate (as a live
   camera delivers it: frame ``t`` is not handed over before ``t`` seconds of wall time), and
   reports for each event the wall time from the frame of its last sighting to its folder
   being renamed complete, split into: the detector's delay in reporting the event, the
   wait for the post-roll, and the worker's writing (remux + annotated clip + snapshot +
   manifest). Without a scene it renders one with ``fallwatch synth``. Then the same with
   the writer alone (packets only demuxed, handed over at the stream's rate, events added
   where the detector reported them): the figure for a detector that keeps up, without the
   detector's own CPU.

    python benchmarks/evidence_latency.py [--scene S.mp4 --camera S.yaml] [--seconds 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from detector.events import Event
from detector.pipeline import Detector
from pipelines.camera import load_camera
from pipelines.cli import main as fallwatch
from pipelines.evidence import EvidenceWriter, PacketRing
from pipelines.sources import open_video


def make_stream(path: Path, seconds: float, fps: int = 25, kbps: int = 4000) -> Path:
    """``seconds`` of 1920x1080 H.264 at a constant ``kbps`` (textured wall scrolling by,
    sensor noise), GOP 2 s, no B-frames."""
    rng = np.random.default_rng(4)
    h, w = 1080, 1920
    wall = rng.integers(40, 200, size=(h // 8, (w + 400) // 8), dtype=np.uint8)
    wall = np.kron(wall, np.ones((8, 8), np.uint8))
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.bit_rate = kbps * 1000
        s.options = {"preset": "ultrafast", "g": str(2 * fps), "keyint_min": str(2 * fps),
                     "bf": "0", "sc_threshold": "0",
                     "x264-params": f"nal-hrd=cbr:vbv-maxrate={kbps}:vbv-bufsize={kbps}"}
        for i in range(round(seconds * fps)):
            x = (3 * i) % 400
            noise = rng.integers(0, 12, size=(h, w), dtype=np.uint8)
            luma = wall[:, x : x + w] + noise
            frame = av.VideoFrame.from_ndarray(luma, format="gray").reformat(format="yuv420p")
            frame.pts = i
            for p in s.encode(frame):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def preroll_memory(path: Path, keep_s: float) -> dict[str, float]:
    """Feed every packet of ``path`` through a ring of ``keep_s`` seconds."""
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        ring = PacketRing(keep_s, stream.time_base or Fraction(1, 90_000),
                          float(stream.average_rate or 25))
        total, first_t, last_t, peak_bytes, peak_packets = 0, None, 0.0, 0, 0
        tracemalloc.start()
        for packet in src.demux(stream):
            if not packet.size:
                continue
            stored = ring.make(packet)
            ring.push(stored)
            total += packet.size
            first_t = stored.t_s if first_t is None else first_t
            last_t = stored.t_s
            if ring.nbytes > peak_bytes:
                peak_bytes, peak_packets = ring.nbytes, len(ring)
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    duration = last_t - (first_t or 0.0) + 1 / float(stream.average_rate or 25)
    return {"bitrate_mbps": total * 8 / duration / 1e6, "peak_bytes": peak_bytes,
            "peak_packets": peak_packets, "heap_peak": heap_peak, "keep_s": keep_s}


def latency(scene: Path, camera_file: Path, clips: Path, home: Path
            ) -> tuple[list[dict[str, float]], list[tuple[Event, float]]]:
    """Paced run of decoder + detector + EvidenceWriter; one row per event, and each
    event with the stream time at which the detector reported it."""
    camera = load_camera(camera_file)
    rows: list[dict[str, float]] = []
    with av.open(str(scene)) as tpl, open_video(scene) as source:
        info = source.info
        det = Detector(info.width, info.height, info.fps, camera.detector,
                       camera.calibration(), camera.exclude)
        keep_s = 5.0 + det.cfg.max_track_s + det.cfg.max_missed_s + 3.0
        writer = EvidenceWriter(clips, camera.id, tpl.streams.video[0], fps=info.fps,
                                container_format=info.format_name,
                                start_utc=datetime.now(UTC), utc_source="benchmark",
                                calibration=camera.calibration(), keep_s=keep_s,
                                home=home)  # a throwaway signing key, not the site's
        t0 = time.monotonic()
        wall_of: dict[float, float] = {}  # frame t_s -> wall time it was handed over
        reported: dict[str, float] = {}
        events: list[tuple[Event, float]] = []
        late = 0
        for frame in source.frames(on_packet=writer.on_packet):
            due = t0 + frame.t_s
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            else:
                late += 1
            wall_of[round(frame.t_s, 3)] = time.monotonic()
            writer.align(frame.pts, frame.t_s)
            for ev in det.process(frame.luma, frame.t_s):
                writer.add_event(ev, None)
                reported[ev.id] = frame.t_s
                events.append((ev, frame.t_s))
        for ev in det.finish():
            writer.add_event(ev, None)
            reported[ev.id] = float("nan")
        results = writer.poll() + writer.close()
    for r in results:
        if not r.ok:
            print(f"event {r.event_id}: failed: {r.error}", file=sys.stderr)
            continue
        seen = wall_of.get(round(r.last_seen_s, 3))
        if seen is None:
            continue
        rows.append({"last_seen_s": r.last_seen_s,
                     "report_delay_s": reported[r.event_id] - r.last_seen_s,
                     "until_ready_s": r.ready_at - seen,
                     "write_s": r.done_at - r.ready_at,
                     "total_s": r.done_at - seen})
    print(f"frames handed over late (detector slower than real time): {late}")
    return rows, events


def write_alone(scene: Path, camera_file: Path, clips: Path, home: Path,
                events: list[tuple[Event, float]]) -> list[tuple[float, float]]:
    """The writer on its own, fed at the stream's rate: the file is only demuxed (no
    decoding, no detector) and packet ``t`` is handed over at ``t`` seconds of wall time, as
    a camera delivers it; each event is added at the packet where the detector reported it.
    Returns, per event, (last sighting -> folder complete, seconds of writing left once the
    clip was complete)."""
    camera = load_camera(camera_file)
    todo = sorted(events, key=lambda e: e[1])
    with av.open(str(scene)) as tpl, av.open(str(scene)) as src:
        stream = src.streams.video[0]
        writer = EvidenceWriter(clips, camera.id, tpl.streams.video[0],
                                fps=float(stream.average_rate or 25),
                                container_format=src.format.name,
                                start_utc=datetime.now(UTC), utc_source="benchmark",
                                calibration=camera.calibration(), keep_s=30.0, home=home)
        tb = stream.time_base or Fraction(1, 90_000)
        first: int | None = None
        t0 = time.monotonic()
        for packet in src.demux(stream):
            if not packet.size or packet.pts is None:
                continue
            if first is None:
                first = packet.pts
            t = float((packet.pts - first) * tb)
            delay = t0 + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            writer.on_packet(packet)
            writer.align(first, 0.0)  # no B-frames: the first packet is frame 0
            while todo and todo[0][1] <= t:
                writer.add_event(todo.pop(0)[0], None)
        results = writer.poll() + writer.close()
    return [(r.done_at - (t0 + r.last_seen_s), r.done_at - r.ready_at)
            for r in results if r.ok]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the 4 Mbit/s stream")
    ap.add_argument("--preroll", type=float, default=10.0)
    ap.add_argument("--scene", type=Path, help="a 1080p labelled scene (NAME.mp4)")
    ap.add_argument("--camera", type=Path, help="its camera file (default NAME.yaml)")
    ap.add_argument("--work", type=Path, help="folder for generated files (default: temp)")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="fallwatch_evidence_"))
    work.mkdir(parents=True, exist_ok=True)

    stream = make_stream(work / "cbr4m_1080p.mp4", args.seconds)
    m = preroll_memory(stream, args.preroll)
    print(f"pre-roll {m['keep_s']:g} s of 1080p25 at {m['bitrate_mbps']:.2f} Mbit/s: ring "
          f"held at most {m['peak_bytes'] / 1e6:.2f} MB of packets ({m['peak_packets']:.0f} "
          f"packets), Python heap peak {m['heap_peak'] / 1e6:.2f} MB")

    scene = args.scene
    if scene is None:
        out = work / "scene"
        fallwatch(["synth", str(out), "--count", "1", "--seed", "9101", "--resolutions",
                   "1080p", "--duration", "15", "--distractor-share", "0", "--night-share",
                   "0", "--rain-share", "0", "--max-objects", "1"])
        scene = sorted(out.glob("*.mp4"))[0]
    camera = args.camera or scene.with_suffix(".yaml")
    rows, events = latency(scene, camera, work / "clips", work / "home")
    for r in rows:
        print(f"event last seen at {r['last_seen_s']:.2f} s: folder complete "
              f"{r['total_s']:.2f} s later (reported {r['report_delay_s']:.2f} s after the "
              f"last sighting; clip ready {r['until_ready_s']:.2f} s after it; writing "
              f"{r['write_s']:.2f} s)")
    if rows:
        print(f"median last sighting -> folder complete: "
              f"{statistics.median(r['total_s'] for r in rows):.2f} s over {len(rows)} events")
    else:
        print("no event found in the scene: no latency measured")
        return 0
    alone = write_alone(scene, camera, work / "clips_alone", work / "home", events)
    for r, (total, tail) in zip(rows, alone, strict=False):
        print(f"event last seen at {r['last_seen_s']:.2f} s, the writer alone fed at the "
              f"stream's rate (a detector that keeps up, without its CPU): folder complete "
              f"{total:.2f} s after the last sighting ({tail:.2f} s of it after the clip's "
              f"post-roll was in)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
