"""The Markdown table of a benchmark run, from its ``results.json``.

``python -m benchmarks.report DIR`` (re)writes ``DIR/results.md`` and the plots from
``DIR/results.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

PARTS = ("throughput", "baselines", "scaling")
METHOD_TITLES = {
    "fallwatch": "fallwatch (ours)",
    "mog2_fullres": "MOG2 full-res + NN tracker + rule",
    "frigate_style": "frigate-style motion + NN tracker + rule",
    "bytetrack_our_blobs": "our blobs + ultralytics BYTETracker + our physics",
}


def _f(v: float | None, fmt: str = ".1f") -> str:
    return "-" if v is None else format(v, fmt)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def throughput_md(t: dict[str, Any]) -> list[str]:
    clf = t["classifier"]
    lines = [
        "### Throughput (CPU ms per frame, medians; ratio to decode-only in brackets)",
        "",
        "| video | Mbit/s | decode | background | blobs | tracker + physics | classifier "
        "| end to end | streams per core | memory per stream |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for res, r in t["resolutions"].items():
        ms, ratio = r["cpu_ms_per_frame"], r["ratio_to_decode"]

        def cell(k: str, ms: dict[str, float] = ms, ratio: dict[str, float] = ratio) -> str:
            return f"{ms[k]:.1f} (x{ratio[k]:.2f})"

        if "classifier" in ms:
            per = r.get("classifier_ms_per_track")
            c = f"{cell('classifier')}, {_f(per, '.2f')} ms/track"
        else:
            c = "not available"
        mem = r.get("memory") or {}
        mem_s = (f"{mem['stream_peak_kib'] / 1024:.0f} MiB peak" if "stream_peak_kib" in mem
                 else "-")
        lines.append(
            f"| {res} {r['width']}x{r['height']} {r['fps']:g} fps | {r['mbit_s']:.1f} "
            f"| {ms['decode']:.1f} | {cell('background')} | {cell('blobs')} | {cell('tracker')} "
            f"| {c} | {cell('end_to_end')} | {r['streams_per_core']['end_to_end']:.1f} "
            f"| {mem_s} |")
    lines += ["", f"Classifier: {clf['source']}."]
    return lines


def baselines_md(b: dict[str, Any]) -> list[str]:
    dur = next(iter(b["methods"].values()))["duration_s"]
    lines = [
        f"### Baselines on the same {len(b['scenes'])} labelled scenes ({dur / 60:.1f} min, "
        f"{b['frames']} frames; decoding {b['decode_cpu_ms_per_frame']:.1f} ms/frame for all)",
        "",
        "| method | recall | precision | false alarms (per hour) | floor exact / within 1 "
        "| detection CPU ms/frame | cost vs ours |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in b["methods"].items():
        lines.append(
            f"| {METHOD_TITLES.get(name, name)} | {_pct(m['recall'])} "
            f"({m['matched']}/{m['detectable']}) | {_pct(m['precision'])} "
            f"| {m['false_alarms']} ({_f(m['false_alarms_per_hour'], '.0f')}) "
            f"| {_pct(m['floor_exact_rate'])} / {_pct(m['floor_within1_rate'])} "
            f"(n={m.get('floor_n', '-')}) | {m['cpu_ms_per_frame']:.1f} "
            f"| x{_f(m['cost_vs_ours'], '.2f')} |")
    lines += ["", "Settings (fixed, not tuned):", ""]
    for name, m in b["methods"].items():
        lines.append(f"- **{METHOD_TITLES.get(name, name)}**: "
                     + "; ".join(f"{k}: {v}" for k, v in m["settings"].items()))
    return lines


def scaling_md(s: dict[str, Any]) -> list[str]:
    lines = ["### Scaling (CPU ms per frame)", "",
             "| input | blobs per frame | decode | detector | guard trips | events |",
             "| --- | --- | --- | --- | --- | --- |"]

    def row(label: str, p: dict[str, Any]) -> str:
        return (f"| {label} | {p['blobs_per_frame']:.1f} | {p['decode_ms_per_frame']:.1f} "
                f"| {p['detector_ms_per_frame']:.1f} | {p['guard_trips']} | {p['events']} |")

    for res, p in s["resolution"].items():
        lines.append(row(f"{res} ({p['megapixels']:.1f} MP)", p))
    base = s["base_scene"]
    for p in s["rain"]:
        lines.append(row(f"{base['resolution']}, rain {p['drops']} drops", p))
    for p in s["flock"]:
        lines.append(row(f"{base['resolution']}, flock of {p['birds']} birds", p))
    cams = s["cameras"]
    if not cams.get("measured"):
        lines += ["", f"Cameras: {cams.get('reason', 'not measured')}."]
        return lines
    lines += ["", f"`fallwatch watch` with N RTSP cameras on loopback, each showing "
              f"{cams['scene']} looped (worker processes only):", "",
              "| cameras | cores used | cores per camera | CPU ms per frame | fps per camera "
              "| dropped per camera per s | RSS per worker |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in cams["runs"]:
        lines.append(f"| {r['cameras']} | {r['cores']:.2f} | {r['cores_per_camera']:.2f} "
                     f"| {r['cpu_ms_per_frame']:.1f} | {r['fps_per_camera']:.1f} "
                     f"| {r['dropped_per_camera_per_s']:.1f} | {r['rss_mib_per_worker']:.0f} MiB |")
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    meta = results["meta"]
    m = meta["machine"]
    lines = [
        f"## Benchmarks ({'quick' if meta['quick'] else 'full'} run, {m['time_utc']})",
        "",
        f"`{meta['command']}` on {m['cores']} cores ({m['cpu']}), load average "
        f"{m['loadavg_at_start'][0]:.1f} at the start; the machine is shared with other jobs, "
        "so read the ratios (taken in one run), not the bare milliseconds. CPU time is process "
        "time (all threads).",
        "",
    ]
    g = m.get("git") or {}
    if g.get("commit"):
        dirty = g.get("uncommitted") or []
        lines += [f"Code: commit {g['commit']}"
                  + (f" plus uncommitted changes to {', '.join(dirty)}" if dirty else "") + ".",
                  ""]
    parts = results["parts"]
    for name, fn in (("throughput", throughput_md), ("baselines", baselines_md),
                     ("scaling", scaling_md)):
        if name in parts:
            lines += [*fn(parts[name]), ""]
    plots = list(meta.get("plots", []))
    if plots:
        lines += [f"![{Path(p).stem}]({Path(p).name})" for p in plots] + [""]
    return "\n".join(lines)


def write_report(out: Path, results: dict[str, Any]) -> Path:
    """Write ``out/results.md`` (via a temporary name) and return its path."""
    path = out / "results.md"
    tmp = out / ".results.md.tmp"
    tmp.write_text(markdown(results), encoding="utf-8")
    tmp.replace(path)
    return path


def main() -> None:
    from benchmarks.plots import write_plots

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, metavar="DIR", help="folder holding results.json")
    a = ap.parse_args()
    results = json.loads((a.out / "results.json").read_text(encoding="utf-8"))
    results["meta"]["plots"] = [p.name for p in write_plots(a.out, results)]
    write_report(a.out, results)


if __name__ == "__main__":
    main()
