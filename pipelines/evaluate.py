"""``fallwatch eval DIR``: score the detector on labelled scenes (DESIGN.md's scoring rule).

``fallwatch eval DIR [--json OUT.json] [--jobs N]`` analyses every ``NAME.mp4`` in DIR that
has a ``NAME.truth.json`` (with ``NAME.yaml`` as its camera file when present, no clips),
by the same code path as ``fallwatch analyze``, and scores the events:

- an event matches an object when at least 3 of the event's trajectory points lie within
  max(12 px, 4 x radius) of the object's position in the same frame, plus or minus one
  frame (a point at ``t_s`` lies in frame ``round(t_s * fps)``);
- matching is one-to-one, greedily by the number of such points;
- recall = matched detectable objects / detectable objects (detectable: a track of at
  least 8 rows with a radius of at least 1 px somewhere); an event matched to an object
  that is not detectable counts neither for recall nor as a false alarm;
- every unmatched event is a false alarm; false alarms per hour divide by the total
  duration of all scenes; precision = matched events / all events;
- floor accuracy over matched objects whose event has a floor: exact and within 1.

Prints a table to standard output; ``--json`` writes every number. Exit status: 0 done;
2 bad usage (no such folder, no labelled scene); 3 some scene could not be read completely
(it is scored on what was read, or left out when unreadable, and the table says so).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from detector.classifier import operating_threshold
from detector.config import DetectorConfig
from detector.errors import FallwatchError
from pipelines.analyze import (
    add_model_arguments,
    analyze_file,
    classifier_from_args,
    write_json_atomic,
)
from pipelines.camera import CameraFile, load_camera
from pipelines.runtime import worker_pool

log = logging.getLogger(__name__)

__all__ = ["evaluate_scene", "find_scenes", "is_detectable", "score_scene", "summarize"]

MIN_POINTS = 3
MIN_DIST_PX = 12.0
RADIUS_FACTOR = 4.0
MIN_TRACK_ROWS = 8
MIN_RADIUS_PX = 1.0


def is_detectable(obj: dict[str, Any]) -> bool:
    """An object is detectable when its track has >= 8 rows and a radius >= 1 px somewhere."""
    track = obj.get("track") or []
    return len(track) >= MIN_TRACK_ROWS and any(row[3] >= MIN_RADIUS_PX for row in track)


def _close_points(event: dict[str, Any], rows: dict[int, tuple[float, float, float]],
                  fps: float) -> int:
    """Trajectory points of ``event`` within max(12, 4 r) of the object in frame f +- 1."""
    count = 0
    for t_s, x, y in event.get("trajectory") or []:
        frame = round(t_s * fps)
        for f in (frame, frame - 1, frame + 1):
            row = rows.get(f)
            if row is None:
                continue
            ox, oy, r = row
            if math.hypot(x - ox, y - oy) <= max(MIN_DIST_PX, RADIUS_FACTOR * r):
                count += 1
                break
    return count


def score_scene(events: Sequence[dict[str, Any]], truth: dict[str, Any]) -> dict[str, Any]:
    """Score one scene's events (the ``events`` list of analyze's JSON) against its truth.

    Returns counts (``detectable``, ``matched``, ``events``, ``matched_events``,
    ``false_alarms``, ``floor_n``, ``floor_exact``, ``floor_within1``), ``by_kind``
    ({kind: {"detectable", "matched"}}), ``matches`` (event id, object index, points,
    detectable, floors), ``false_alarm_ids``, ``duration_s``, ``lighting`` and
    ``distractors`` (the kinds present, sorted).
    """
    fps = float(truth["fps"])
    objects = truth.get("objects") or []
    tracks = [{int(r[0]): (float(r[1]), float(r[2]), float(r[3])) for r in o.get("track") or []}
              for o in objects]
    detectable = [is_detectable(o) for o in objects]

    pairs: list[tuple[int, int, int]] = []  # (points, event index, object index)
    for ei, ev in enumerate(events):
        for oi, rows in enumerate(tracks):
            n = _close_points(ev, rows, fps)
            if n >= MIN_POINTS:
                pairs.append((n, ei, oi))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    event_to_obj: dict[int, int] = {}
    obj_to_event: dict[int, int] = {}
    matches: list[dict[str, Any]] = []
    for n, ei, oi in pairs:
        if ei in event_to_obj or oi in obj_to_event:
            continue
        event_to_obj[ei], obj_to_event[oi] = oi, ei
        ev_floor = (events[ei].get("origin") or {}).get("floor")
        matches.append({"event": events[ei].get("id"), "object": oi, "points": n,
                        "kind": objects[oi].get("kind"), "detectable": detectable[oi],
                        "floor": ev_floor, "true_floor": objects[oi].get("origin_floor")})

    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: {"detectable": 0, "matched": 0})
    for oi, obj in enumerate(objects):
        if detectable[oi]:
            k = by_kind[str(obj.get("kind", "?"))]
            k["detectable"] += 1
            k["matched"] += oi in obj_to_event
    floor_n = floor_exact = floor_within1 = 0
    for m in matches:
        if m["floor"] is None or m["true_floor"] is None:
            continue
        floor_n += 1
        floor_exact += m["floor"] == m["true_floor"]
        floor_within1 += abs(m["floor"] - m["true_floor"]) <= 1
    false_alarm_ids = [ev.get("id") for ei, ev in enumerate(events) if ei not in event_to_obj]
    frames = int(truth.get("frames") or 0)
    return {
        "objects": len(objects),
        "detectable": sum(detectable),
        "matched": sum(1 for oi in obj_to_event if detectable[oi]),
        "events": len(events),
        "matched_events": len(event_to_obj),
        "false_alarms": len(false_alarm_ids),
        "false_alarm_ids": false_alarm_ids,
        "floor_n": floor_n,
        "floor_exact": floor_exact,
        "floor_within1": floor_within1,
        "by_kind": dict(by_kind),
        "matches": matches,
        "duration_s": frames / fps if fps > 0 else 0.0,
        "lighting": (truth.get("scene") or {}).get("lighting"),
        "distractors": sorted({str(d.get("kind")) for d in truth.get("distractors") or []}),
    }


def find_scenes(folder: Path) -> list[Path]:
    """Every ``NAME.mp4`` in ``folder`` that has a ``NAME.truth.json``, sorted by name."""
    return sorted(p for p in folder.glob("*.mp4")
                  if p.with_name(p.stem + ".truth.json").is_file())


PR_THRESHOLDS = tuple(round(0.02 * i, 2) for i in range(51))
_CLASSIFIERS: dict[str, Any] = {}  # loaded once per (worker) process


def with_settings(camera: CameraFile | None, video: Path,
                  settings: dict[str, str] | None) -> CameraFile | None:
    """``camera`` (a plain one for ``video`` when None) with ``settings`` over its
    ``detector`` block, validated as a camera file's would be; ``camera`` itself when
    there are none. Raises ``ValueError`` naming an unknown key or a bad value."""
    if not settings:
        return camera
    camera = camera or CameraFile(id="scene", source=str(video))
    try:
        cfg = DetectorConfig.model_validate({**camera.detector.model_dump(), **settings})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = err["loc"][0] if err["loc"] else "?"
        why = "not a detector setting" if err["type"] == "extra_forbidden" else err["msg"]
        raise ValueError(f"--set {key}: {why}") from None
    return camera.model_copy(update={"detector": cfg})


def evaluate_scene(video: Path, model: str | None = None,
                   settings: dict[str, str] | None = None) -> dict[str, Any]:
    """Analyse one labelled scene (camera file ``NAME.yaml`` when present) and score it.

    ``settings`` (detector keys to values) override the camera file's ``detector`` block.

    With ``model`` (classifier weights), the detector emits every candidate that passes
    the physics with its classifier score; the scene is scored on those that reach the
    config's ``classifier_threshold`` (when None, the weights' own) and ``min_score``, as
    analyze would emit them, and ``pr`` holds ``[threshold, matched, false_alarms]`` over
    ``PR_THRESHOLDS`` and the threshold in use.

    Returns the score with ``scene``, ``frames``, ``wall_s``, ``cpu_s``, ``complete``,
    ``width``/``height``/``fps``; an unreadable scene gives ``{"scene", "error"}``.
    """
    name = video.stem
    try:
        truth = json.loads(video.with_name(name + ".truth.json").read_text(encoding="utf-8"))
        cam_path = video.with_name(name + ".yaml")
        camera = load_camera(cam_path) if cam_path.is_file() else None
        camera = with_settings(camera, video, settings)
        classifier = None
        if model is not None:
            from detector.classifier import load_classifier

            classifier = _CLASSIFIERS.get(model) or load_classifier(model)
            _CLASSIFIERS[model] = classifier
            camera = camera or CameraFile(id="scene", source=str(video))
            cfg = camera.detector
            threshold = operating_threshold(cfg.classifier_threshold, classifier)
            camera = camera.model_copy(update={"detector": cfg.model_copy(
                update={"classifier_threshold": 0.0, "min_score": 0.0})})
        result = analyze_file(video, camera, classifier=classifier)
    except (FallwatchError, OSError, ValueError) as exc:
        return {"scene": name, "error": str(exc)}
    events = result.doc["events"]
    pr: list[list[float]] = []
    if model is not None:
        def kept(thr: float) -> list[dict[str, Any]]:
            return [e for e in events if e.get("classifier_score", 1.0) >= thr
                    and e.get("physics_score", e["score"]) >= cfg.min_score]

        for thr in sorted({*PR_THRESHOLDS, round(threshold, 6)}):
            s = score_scene(kept(thr), truth)
            pr.append([thr, s["matched"], s["false_alarms"]])
        events = kept(threshold)
    row = score_scene(events, truth)
    if pr:
        row["pr"] = pr
    row.update(scene=name, frames=result.frames, wall_s=result.wall_s, cpu_s=result.cpu_s,
               complete=result.complete, width=result.doc["width"], height=result.doc["height"],
               fps=result.doc["fps"])
    if not result.complete:
        row["damage"] = result.doc["damage"]["message"]
    return row


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _group_counts() -> dict[str, Any]:
    return {"scenes": 0, "detectable": 0, "matched": 0, "false_alarms": 0, "duration_s": 0.0,
            "recall": None, "false_alarms_per_hour": None}


def _grouped(scored: Sequence[dict[str, Any]],
             keys: Callable[[dict[str, Any]], list[str]]) -> dict[str, dict[str, Any]]:
    """Scenes, detectable and matched objects, false alarms and footage per group (a
    scene counts in each group ``keys`` names for it), with recall and false alarms per
    hour; sorted by group."""
    groups: dict[str, dict[str, Any]] = defaultdict(_group_counts)
    for r in scored:
        for key in keys(r):
            c = groups[key]
            c["scenes"] += 1
            for k in ("detectable", "matched", "false_alarms", "duration_s"):
                c[k] += r[k]
    for c in groups.values():
        c["recall"] = _ratio(c["matched"], c["detectable"])
        c["false_alarms_per_hour"] = _ratio(c["false_alarms"], c["duration_s"] / 3600.0)
    return dict(sorted(groups.items()))


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Totals over scored scenes: recall, precision, false alarms (per hour), floor
    accuracy, detector frames per second (wall and CPU), per kind, per lighting and per
    distractor kind (the scenes with it and those without)."""
    scored = [r for r in rows if "error" not in r]
    t: dict[str, Any] = {k: sum(r[k] for r in scored) for k in (
        "objects", "detectable", "matched", "events", "matched_events", "false_alarms",
        "floor_n", "floor_exact", "floor_within1", "frames", "wall_s", "cpu_s", "duration_s")}
    t["scenes"] = len(scored)
    hours = t["duration_s"] / 3600.0
    t["recall"] = _ratio(t["matched"], t["detectable"])
    t["precision"] = _ratio(t["matched_events"], t["events"])
    t["false_alarms_per_hour"] = _ratio(t["false_alarms"], hours)
    t["floor_exact_rate"] = _ratio(t["floor_exact"], t["floor_n"])
    t["floor_within1_rate"] = _ratio(t["floor_within1"], t["floor_n"])
    t["fps_wall"] = _ratio(t["frames"], t["wall_s"])
    t["fps_cpu"] = _ratio(t["frames"], t["cpu_s"])
    kinds: dict[str, dict[str, Any]] = defaultdict(lambda: {"detectable": 0, "matched": 0})
    for r in scored:
        for kind, c in r["by_kind"].items():
            kinds[kind]["detectable"] += c["detectable"]
            kinds[kind]["matched"] += c["matched"]
    for c in kinds.values():
        c["recall"] = _ratio(c["matched"], c["detectable"])
    t["by_kind"] = dict(sorted(kinds.items()))
    t["by_lighting"] = _grouped(scored, lambda r: [str(r["lighting"])])
    # each distractor kind, over the scenes that have it and those that do not (rain
    # costs recall that the overall figure hides)
    present = sorted({k for r in scored for k in r["distractors"]})
    t["by_distractor"] = {}
    for kind in present:
        def side_of(r: dict[str, Any], kind: str = kind) -> list[str]:
            return ["with" if kind in r["distractors"] else "without"]
        split = _grouped(scored, side_of)
        t["by_distractor"][kind] = {side: split.get(side, _group_counts())
                                    for side in ("with", "without")}
    curves = [{float(thr): (int(m), int(fa)) for thr, m, fa in r["pr"]}
              for r in scored if "pr" in r]
    if curves and len(curves) == len(scored):
        t["pr_curve"] = []
        for thr in sorted(set.intersection(*(set(c) for c in curves))):
            matched = sum(c[thr][0] for c in curves)
            fa = sum(c[thr][1] for c in curves)
            t["pr_curve"].append({"threshold": thr, "recall": _ratio(matched, t["detectable"]),
                                  "precision": _ratio(matched, matched + fa),
                                  "false_alarms": fa})
    return t


def draw_pr_curve(totals: dict[str, Any], path: Path, threshold: float) -> None:
    """Precision against recall over classifier thresholds as a PNG (cv2), the chosen
    threshold marked; the file is written under a temporary name, then renamed."""
    import os

    import cv2
    import numpy as np

    w, h, m = 640, 480, 60
    img = np.full((h, w, 3), 255, np.uint8)
    x0, y0, x1, y1 = m, h - m, w - 20, 30

    def pt(r: float, p: float) -> tuple[int, int]:
        return round(x0 + r * (x1 - x0)), round(y0 - p * (y0 - y1))

    for v in np.linspace(0, 1, 6):
        cv2.line(img, pt(v, 0), pt(v, 1), (225, 225, 225), 1)
        cv2.line(img, pt(0, v), pt(1, v), (225, 225, 225), 1)
        cv2.putText(img, f"{v:.1f}", (pt(v, 0)[0] - 12, y0 + 20), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, f"{v:.1f}", (10, pt(0, v)[1] + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(img, pt(0, 0), pt(1, 1), (0, 0, 0), 1)
    pts = [(c["recall"], c["precision"], c["threshold"]) for c in totals.get("pr_curve", [])
           if c["recall"] is not None and c["precision"] is not None]
    for a, b in itertools.pairwise(pts):
        cv2.line(img, pt(a[0], a[1]), pt(b[0], b[1]), (200, 80, 0), 2, cv2.LINE_AA)
    chosen = [p for p in pts if abs(p[2] - round(threshold, 6)) < 1e-9]
    for r, p, _ in chosen:
        cv2.circle(img, pt(r, p), 6, (0, 0, 220), 2, cv2.LINE_AA)
        cv2.putText(img, f"threshold {threshold:.3g}: P {p:.2f} R {r:.2f}",
                    (pt(r, p)[0] - 200, pt(r, p)[1] + 25), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 220), 1, cv2.LINE_AA)
    cv2.putText(img, "recall", (w // 2 - 20, h - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "precision over classifier thresholds", (x0, 20),
                cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    tmp = path.with_name("." + path.name + ".part.png")
    if not cv2.imwrite(str(tmp), img):
        raise OSError(f"{path}: cannot write the PNG")
    os.replace(tmp, path)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _num(v: float | None, fmt: str = ".1f") -> str:
    return "-" if v is None else format(v, fmt)


def format_table(rows: Sequence[dict[str, Any]], totals: dict[str, Any]) -> str:
    """A plain-text report: one line per scene, totals, per kind, per lighting."""
    lines = []
    head = (f"{'scene':<22} {'size':>9} {'fps':>4} {'frames':>6} {'light':<6} {'det':>3} "
            f"{'hit':>3} {'events':>6} {'FA':>3} {'floor=':>6} {'±1':>3} {'det fps':>7}  "
            "distractors")
    lines.append(head)
    lines.append("-" * len(head))
    for r in rows:
        if "error" in r:
            lines.append(f"{r['scene']:<22} ERROR: {r['error']}")
            continue
        fa_kinds = ",".join(r["distractors"]) or "-"
        flag = "" if r["complete"] else "  INCOMPLETE"
        lines.append(
            f"{r['scene']:<22} {r['width']:>4}x{r['height']:<4} {r['fps']:>4.0f} "
            f"{r['frames']:>6} {r['lighting']!s:<6} {r['detectable']:>3} {r['matched']:>3} "
            f"{r['events']:>6} {r['false_alarms']:>3} "
            f"{r['floor_exact']:>3}/{r['floor_n']:<2} {r['floor_within1']:>3} "
            f"{_num(_ratio(r['frames'], r['wall_s'])):>7}  {fa_kinds}{flag}")
    t = totals
    lines.append("-" * len(head))
    lines.append(
        f"TOTAL {t['scenes']} scenes, {t['duration_s'] / 60:.1f} min: "
        f"recall {_pct(t['recall'])} ({t['matched']}/{t['detectable']}), "
        f"precision {_pct(t['precision'])} ({t['matched_events']}/{t['events']}), "
        f"false alarms {t['false_alarms']} ({_num(t['false_alarms_per_hour'])}/h), "
        f"floor exact {_pct(t['floor_exact_rate'])} ±1 {_pct(t['floor_within1_rate'])} "
        f"(n={t['floor_n']}), detector {_num(t['fps_wall'])} fps wall, "
        f"{_num(t['fps_cpu'])} fps CPU")
    lines.append("")
    lines.append("recall by object kind:")
    for kind, c in t["by_kind"].items():
        lines.append(f"  {kind:<14} {_pct(c['recall']):>7} ({c['matched']}/{c['detectable']})")
    lines.append("by lighting:")
    for name, c in t["by_lighting"].items():
        lines.append(f"  {name:<14} recall {_pct(c['recall']):>7} "
                     f"({c['matched']}/{c['detectable']}), false alarms {c['false_alarms']} "
                     f"({_num(c['false_alarms_per_hour'])}/h) in {c['scenes']} scenes")
    if t.get("by_distractor"):
        lines.append("by distractor (scenes with it / without it):")
        for name, both in t["by_distractor"].items():
            w, wo = both["with"], both["without"]
            lines.append(f"  {name:<14} recall {_pct(w['recall']):>7} ({w['matched']}/"
                         f"{w['detectable']}) / {_pct(wo['recall'])} ({wo['matched']}/"
                         f"{wo['detectable']}), false alarms {w['false_alarms']} "
                         f"({_num(w['false_alarms_per_hour'])}/h) / {wo['false_alarms']} "
                         f"({_num(wo['false_alarms_per_hour'])}/h) in {w['scenes']} / "
                         f"{wo['scenes']} scenes")
    fa_rows = [r for r in rows if "error" not in r and r["false_alarms"]]
    if fa_rows:
        lines.append("false alarms by scene (distractors present):")
        for r in fa_rows:
            lines.append(f"  {r['scene']:<22} {r['false_alarms']:>3}  "
                         f"{', '.join(r['distractors']) or 'none'}")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, metavar="DIR",
                   help="folder of labelled scenes: NAME.mp4, NAME.truth.json, NAME.yaml")
    p.add_argument("--json", type=Path, metavar="OUT.json", help="write every number here")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="scenes analysed in parallel processes (default 1)")
    p.add_argument("--pr-curve", type=Path, metavar="PNG",
                   help="draw precision against recall over classifier thresholds here")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="a detector setting over every scene's camera file, e.g. "
                   "retrace_s=0 (repeatable; the keys of a camera file's detector block)")
    add_model_arguments(p)


def run(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    if not folder.is_dir():
        print(f"fallwatch eval: error: {folder}: not a folder (expected a folder of labelled "
              "scenes)", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print(f"fallwatch eval: error: --jobs must be at least 1, got {args.jobs}",
              file=sys.stderr)
        return 2
    if args.json is not None and not args.json.parent.is_dir():
        print(f"fallwatch eval: error: {args.json}: its folder does not exist", file=sys.stderr)
        return 2
    model: str | None = None
    if not args.no_classifier:
        try:
            clf = classifier_from_args(args)  # fails early on missing or mismatched weights
        except FallwatchError as exc:
            print(f"fallwatch eval: error: {exc}", file=sys.stderr)
            return 2
        model = str(getattr(clf, "path", None) or args.model)
    elif args.pr_curve is not None:
        print("fallwatch eval: error: --pr-curve needs a classifier (drop --no-classifier)",
              file=sys.stderr)
        return 2
    settings: dict[str, str] = {}
    for item in args.settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            print(f"fallwatch eval: error: --set {item}: expected KEY=VALUE", file=sys.stderr)
            return 2
        settings[key.strip()] = value.strip()
    try:
        with_settings(None, folder, settings)
    except ValueError as exc:
        print(f"fallwatch eval: error: {exc}", file=sys.stderr)
        return 2
    scenes = find_scenes(folder)
    if not scenes:
        print(f"fallwatch eval: error: {folder}: no labelled scene (expected NAME.mp4 with "
              "NAME.truth.json)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    if args.jobs > 1:
        with worker_pool(min(args.jobs, len(scenes))) as pool:
            rows = list(pool.map(evaluate_scene, scenes, [model] * len(scenes),
                                 [settings] * len(scenes)))
    else:
        rows = [evaluate_scene(s, model, settings) for s in scenes]
    elapsed = time.perf_counter() - t0
    totals = summarize(rows)
    totals["elapsed_s"] = elapsed
    totals["jobs"] = args.jobs
    if settings:
        totals["settings"] = settings
    sys.stdout.write(format_table(rows, totals) + "\n")
    if model is not None:
        configured = DetectorConfig().classifier_threshold
        cams = [s.with_name(s.stem + ".yaml") for s in scenes]
        if cams and cams[0].is_file():
            configured = load_camera(cams[0]).detector.classifier_threshold
        if "classifier_threshold" in settings:
            configured = float(settings["classifier_threshold"])
        thr = round(operating_threshold(configured, clf), 6)  # as the scenes' curves hold it
        totals["classifier"] = {"model": model, "threshold": thr}
        sys.stdout.write(f"classifier {model} at threshold {thr:.4g}: precision "
                         f"{_pct(totals['precision'])}, recall {_pct(totals['recall'])}\n")
        if args.pr_curve is not None:
            draw_pr_curve(totals, args.pr_curve, thr)
            sys.stdout.write(f"precision-recall curve: {args.pr_curve}\n")
    if args.json is not None:
        write_json_atomic(args.json, {"folder": str(folder), "totals": totals, "scenes": rows})
    bad = [r["scene"] for r in rows if "error" in r or not r["complete"]]
    if bad:
        print(f"fallwatch eval: {len(bad)} scenes unreadable or incomplete: {', '.join(bad)}",
              file=sys.stderr)
        return 3
    return 0
