"""PNG plots of a benchmark run (matplotlib, the ``bench`` extra; Agg backend, no display).

- ``throughput.png``: CPU ms per frame by stage, stacked, per resolution, with end to end;
- ``baselines.png``: recall, precision, false alarms per hour and CPU ms per frame per method;
- ``scaling.png``: detector and decode cost against megapixels, rain drops, flock size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STAGE_ORDER = ("decode", "background", "blobs", "tracker", "classifier")


SHORT = {"fallwatch": "fallwatch\n(ours)", "mog2_fullres": "MOG2 full-res\n+ NN + rule",
         "frigate_style": "frigate-style\n+ NN + rule",
         "bytetrack_our_blobs": "our blobs\n+ BYTETracker"}


def _save(fig: Any, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def plot_throughput(t: dict[str, Any], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    names = list(t["resolutions"])
    bottom = [0.0] * len(names)
    for stage in STAGE_ORDER:
        vals = [t["resolutions"][n]["cpu_ms_per_frame"].get(stage, 0.0) for n in names]
        if not any(vals):
            continue
        ax.bar(names, vals, bottom=bottom, label=stage)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    e2e = [t["resolutions"][n]["cpu_ms_per_frame"]["end_to_end"] for n in names]
    ax.plot(names, e2e, "k_", markersize=40, mew=2, linestyle="none",
            label="end to end (measured apart)")
    for i, n in enumerate(names):
        r = t["resolutions"][n]
        ax.annotate(f"x{r['ratio_to_decode']['end_to_end']:.1f} decode\n"
                    f"{r['streams_per_core']['end_to_end']:.1f} streams/core",
                    (i, max(e2e[i], bottom[i])), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=8)
    ax.set_ylabel("CPU ms per frame")
    ax.set_title("Throughput by stage")
    ax.set_ylim(0, max(*e2e, *bottom) * 1.35)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def plot_baselines(b: dict[str, Any], path: Path) -> Path:
    names = list(b["methods"])
    labels = [SHORT.get(n, n) for n in names]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    x = range(len(names))
    rec = [b["methods"][n]["recall"] or 0.0 for n in names]
    prec = [b["methods"][n]["precision"] or 0.0 for n in names]
    w = 0.4
    axes[0].bar([i - w / 2 for i in x], rec, w, label="recall")
    axes[0].bar([i + w / 2 for i in x], prec, w, label="precision")
    axes[0].set_ylim(0, 1)
    axes[0].legend(fontsize=8)
    axes[0].set_title("Quality")
    fa = [b["methods"][n]["false_alarms_per_hour"] or 0.0 for n in names]
    axes[1].bar(x, fa, color="tab:red")
    axes[1].set_title("False alarms per hour")
    ms = [b["methods"][n]["cpu_ms_per_frame"] for n in names]
    axes[2].bar(x, ms, color="tab:gray")
    axes[2].set_title("Detection CPU ms per frame")
    for ax in axes:
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, fontsize=8)
    return _save(fig, path)


def plot_scaling(s: dict[str, Any], path: Path) -> Path:
    cams = s.get("cameras") or {}
    with_cams = bool(cams.get("measured"))
    fig, axes = plt.subplots(1, 4 if with_cams else 3, figsize=(17 if with_cams else 13, 4))
    res = list(s["resolution"].values())
    mp = [p["megapixels"] for p in res]
    axes[0].plot(mp, [p["detector_ms_per_frame"] for p in res], "o-", label="detector")
    axes[0].plot(mp, [p["decode_ms_per_frame"] for p in res], "s--", label="decode")
    for p in res:
        axes[0].annotate(f"{p['height']}p", (p["megapixels"], p["detector_ms_per_frame"]),
                         fontsize=8, textcoords="offset points", xytext=(4, 4))
    axes[0].set_xlabel("megapixels")
    axes[0].set_title("Resolution")
    for ax, key, label, title in ((axes[1], "rain", "drops", "Rain density"),
                                  (axes[2], "flock", "birds", "Flock size")):
        pts = s[key]
        xs = [p[label] for p in pts]
        ax.plot(xs, [p["detector_ms_per_frame"] for p in pts], "o-", label="detector")
        ax.plot(xs, [p["decode_ms_per_frame"] for p in pts], "s--", label="decode")
        ax2 = ax.twinx()
        ax2.plot(xs, [p["blobs_per_frame"] for p in pts], "^:", color="tab:green",
                 label="blobs per frame")
        ax2.set_ylabel("blobs per frame", color="tab:green")
        ax.set_xlabel(label)
        ax.set_title(f"{title} ({s['base_scene']['resolution']})")
    for ax in axes[:3]:
        ax.set_ylabel("CPU ms per frame")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, loc="upper left")
    if with_cams:
        ax = axes[3]
        runs = cams["runs"]
        n = [r["cameras"] for r in runs]
        ax.plot(n, [r["cores"] for r in runs], "o-", label="cores used (workers)")
        ax.plot(n, [r["fps_per_camera"] / cams["fps"] for r in runs], "s--",
                label="frames analysed / sent")
        ax.set_xlabel("cameras")
        ax.set_xticks(n)
        ax.set_title("Cameras under fallwatch watch")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _save(fig, path)


def write_plots(out: Path, results: dict[str, Any]) -> list[Path]:
    """Write the plots of every part present in ``results``; return their paths."""
    parts = results["parts"]
    done = []
    if "throughput" in parts:
        done.append(plot_throughput(parts["throughput"], out / "throughput.png"))
    if "baselines" in parts:
        done.append(plot_baselines(parts["baselines"], out / "baselines.png"))
    if "scaling" in parts:
        done.append(plot_scaling(parts["scaling"], out / "scaling.png"))
    return done
