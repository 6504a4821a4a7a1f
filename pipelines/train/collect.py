"""Candidate tracks for training: rendered scenes, run through the detector itself, labelled.

Each scene is sampled and rendered in memory (no encoding: the luma of the rendered frame
goes straight to :class:`detector.pipeline.Detector`), with extra hard distractors
(:func:`pipelines.synth.scene.add_hard_distractors`). The detector runs with a
*collection* configuration whose physics is looser than the default, so the classifier
also learns from near misses; every candidate records whether it passes the default
physics too (``strict``), and the held-out figures count only those.

A candidate is labelled by the scoring rule of ``fallwatch eval``: ``object`` when at least
3 of its points lie within max(12 px, 4 r) of a falling object in the same frame (+-1);
else the kind of the distractor whose projected path it follows most (``glide``,
``swoop``, ``level``, ``flock``, ``leaf``, ``towel``, ``laundry``, ``insect``); else
``rain`` in a rainy scene, else ``clutter``. A rendered scene's ``object`` candidate with
fewer than half of its points on the object becomes ``mixed``: mostly a leaf's or a
bird's track that crossed a falling object, which the scoring rule counts as a hit. It
is neither class, so it is left out of training and of the held-out rates (which report
it apart).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from detector.classifier import TrackClassifier
from detector.config import DetectorConfig
from detector.pipeline import Detector
from detector.tracking import Track
from detector.trajectory import judge
from pipelines.camera import CameraFile
from pipelines.evaluate import _close_points
from pipelines.sources import open_video
from pipelines.synth.render import SceneRenderer
from pipelines.synth.scene import SceneSpec, SynthOptions, sample_scene
from pipelines.synth.writer import facade_points

log = logging.getLogger(__name__)

# share of a track's points that must lie on the object for the label ``object``
MIN_ON_OBJECT = 0.5

# looser physics for collecting candidates (near misses become training negatives)
COLLECT_OVERRIDES: dict[str, Any] = {
    "min_accel_sigma": 1.5,
    "min_accel_ms2": 1.0,
    "min_end_speed_ms": 1.0,
    "max_rise_frac": 0.3,
    "max_fit_rms_px": 4.0,
    "max_horizontal_ratio": 2.0,
    "min_score": 0.0,
}


@dataclass
class Candidate:
    """One candidate track with its label.

    Attributes:
        track: the detector's track (crops and meta filled).
        label: "object", "mixed" or a distractor kind (see the module docstring).
        strict: it also passes the default physics.
        scene: the scene's name.
        on_object: how many of its points lie on a falling object (the scoring rule's
            count, the most over the scene's objects).
    """

    track: Track
    label: str
    strict: bool
    scene: str
    on_object: int = 0

    @property
    def cls(self) -> str | None:
        """The class it trains and is measured as: "object", "distractor", or None for a
        ``mixed`` track, which is neither."""
        if self.label == "mixed":
            return None
        return "object" if self.label == "object" else "distractor"


@dataclass(frozen=True)
class CollectJob:
    seed: int
    index: int
    opts: SynthOptions
    hard: int  # hard distractors added to the scene
    prefix: str = "train"


def _mover_paths(spec: SceneSpec) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, (F, 2) pixel positions with NaN where absent, (F,) radius px) per distractor."""
    cam = spec.camera
    mid = spec.subsamples // 2
    out = []
    for m in spec.movers:
        if m.role != "distractor":
            continue
        label = m.truth.get("behaviour", m.truth.get("kind", m.kind))
        if label == "bird":
            label = "level"
        if m.space == "camera":
            uv = m.pos[:, mid, :2].astype(np.float64)
            rad = m.pos[:, mid, 2].astype(np.float64)
        else:
            pts = m.pos[:, mid, :]
            uv, depth = cam.project(pts)
            uv = np.where((depth > 0)[:, None], uv, np.nan)
            size = m.size_m if m.polygon is None else 0.6
            rad = 0.5 * size * cam.focal_px / np.maximum(depth, 1e-3)
        uv = np.where(m.alive[:, None], uv, np.nan)
        out.append((label, uv, np.asarray(rad, np.float64)))
    return out


def points_on_object(track: Track, scale: float, fps: float, truth: dict[str, Any]) -> int:
    """The most points of a track (work px) close to one falling object, by the scoring rule."""
    xs = (track.x + 0.5) * scale - 0.5
    ys = (track.y + 0.5) * scale - 0.5
    ev = {"trajectory": [[float(t), float(x), float(y)] for t, x, y in
                         zip(track.t, xs, ys, strict=True)]}
    best = 0
    for obj in truth["objects"]:
        rows = {int(r[0]): (float(r[1]), float(r[2]), float(r[3])) for r in obj["track"]}
        best = max(best, _close_points(ev, rows, fps))
    return best


def label_track(track: Track, scale: float, fps: float, truth: dict[str, Any],
                paths: list[tuple[str, np.ndarray, np.ndarray]], rain: bool,
                on_object: int | None = None) -> str:
    """Label of a track (work px, ``scale`` input px per work px) by the scoring rule; see
    the module docstring. ``on_object``: :func:`points_on_object`, if already counted."""
    if on_object is None:
        on_object = points_on_object(track, scale, fps, truth)
    if on_object >= 3:
        return "object"
    xs = (track.x + 0.5) * scale - 0.5
    ys = (track.y + 0.5) * scale - 0.5
    frames = np.round(track.t * fps).astype(np.intp)
    best, best_n = None, 2
    size = np.sqrt(np.maximum(track.area, 1.0)) * scale
    for label, uv, rad in paths:
        f = np.clip(frames, 0, len(uv) - 1)
        d = np.hypot(uv[f, 0] - xs, uv[f, 1] - ys)
        tol = np.maximum(np.maximum(16.0, 3.0 * size), 1.5 * np.nan_to_num(rad[f], nan=0.0))
        n = int(np.sum(d <= tol))
        if n > best_n:
            best, best_n = label, n
    if best is not None:
        return best
    return "rain" if rain else "clutter"


def label_candidate(track: Track, scale: float, fps: float, truth: dict[str, Any],
                    paths: list[tuple[str, np.ndarray, np.ndarray]],
                    rain: bool) -> tuple[str, int]:
    """(label, points on the object) of a rendered scene's candidate: :func:`label_track`,
    with ``object`` turned ``mixed`` when under ``MIN_ON_OBJECT`` of its points lie on the
    object."""
    on = points_on_object(track, scale, fps, truth)
    label = label_track(track, scale, fps, truth, paths, rain, on)
    if label == "object" and on < MIN_ON_OBJECT * len(track):
        label = "mixed"
    return label, on


def collect_scene(job: CollectJob) -> list[Candidate]:
    """Render scene ``job.index`` of ``job.seed`` and return its labelled candidates."""
    name = f"{job.prefix}_{job.seed}_{job.index:04d}"
    spec = sample_scene(job.seed, job.index, job.opts, name, job.hard)
    W, H = spec.camera.width, spec.camera.height
    try:
        cam = CameraFile(id=name, source=name,
                         facade=facade_points(spec, np.random.default_rng([job.seed, job.index,
                                                                           13])))
        calibration = cam.calibration()
    except (RuntimeError, ValueError) as exc:
        log.warning("%s: no calibration (%s); uncalibrated", name, exc)
        calibration = None
    strict_cfg = DetectorConfig()
    cfg = DetectorConfig(**COLLECT_OVERRIDES)
    det = Detector(W, H, spec.fps, cfg, calibration)
    found: list[tuple[Track, bool]] = []

    def hook(tr: Track) -> None:
        found.append((tr, bool(judge(tr, det.geom, strict_cfg).accepted)))

    det.candidate_hook = hook
    renderer = SceneRenderer(spec)
    for f, frame in enumerate(renderer.frames()):
        det.process(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), f / spec.fps)
    det.finish()
    truth = renderer.truth()
    paths = _mover_paths(spec)
    out = []
    for tr, strict in found:
        label, on = label_candidate(tr, det.geom.scale, spec.fps, truth, paths,
                                    spec.rain_drops > 0)
        out.append(Candidate(tr, label, strict, name, on))
    return out


# the code that decides what a scene's candidates are (the scene generator, the detector,
# the labelling by the scoring rule, the camera file): a change to any of it makes every
# cached scene stale
_ROOT = Path(__file__).resolve().parents[2]
CANDIDATE_SOURCES = ("detector", "pipelines/synth", "pipelines/train/collect.py",
                     "pipelines/evaluate.py", "pipelines/camera.py")


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 of the Python sources in ``CANDIDATE_SOURCES`` (paths and contents)."""
    h = hashlib.sha256()
    for name in CANDIDATE_SOURCES:
        top = _ROOT / name
        files = sorted(top.rglob("*.py")) if top.is_dir() else [top]
        for f in files:
            h.update(f.relative_to(_ROOT).as_posix().encode())
            h.update(b"\0")
            h.update(f.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Versions of the libraries whose kernels shape the candidates (another OpenCV may
    round a resize differently)."""
    import scipy
    import skimage

    return {"numpy": np.__version__, "opencv": str(getattr(cv2, "__version__", "?")),
            "scipy": scipy.__version__,
            "scikit-image": str(getattr(skimage, "__version__", "?"))}


class CandidateCache:
    """Each scene's labelled candidates, kept on disk between ``fallwatch train`` runs.

    Collecting is most of a training run (rendering and running the detector over
    hundreds of scenes); the candidates of a scene depend only on its job (seed, index,
    scene options, hard distractors), the collection physics and the code in
    ``CANDIDATE_SOURCES`` (and the versions of the libraries it runs on), so a run that
    changes only the training (epochs, model, features computed from the tracks) can
    reuse them. A file's name carries a digest of all of that: a change of code, options
    or libraries is a new name, never a stale hit.

    Files are pickles, written whole (to a temporary name, then renamed): point the cache
    only at a folder you trust. An unreadable file is collected again.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, job: CollectJob) -> Path:
        key = json.dumps({"seed": job.seed, "index": job.index, "hard": job.hard,
                          "prefix": job.prefix, "opts": dataclasses.asdict(job.opts),
                          "collect": COLLECT_OVERRIDES, "code": code_digest(),
                          "libraries": library_versions()},
                         sort_keys=True, default=str)
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return self.root / f"{job.prefix}_{job.seed}_{job.index:04d}-{digest}.pkl"

    def load(self, job: CollectJob) -> list[Candidate] | None:
        """The cached candidates of ``job``, or None (not cached, or unreadable)."""
        path = self.path(job)
        if not path.is_file():
            return None
        try:
            with path.open("rb") as f:
                got = pickle.load(f)
            if not isinstance(got, list) or not all(isinstance(c, Candidate) for c in got):
                raise TypeError(f"expected a list of candidates, found {type(got).__name__}")
        except Exception as exc:  # a torn or foreign file: collect the scene again
            log.warning("candidate cache %s unreadable (%s); collecting the scene again",
                        path, exc)
            return None
        result: list[Candidate] = got
        return result

    def store(self, job: CollectJob, cands: list[Candidate]) -> None:
        path = self.path(job)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
        try:
            with tmp.open("wb") as f:
                pickle.dump(cands, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)  # only left when writing failed


def candidates_from_video(video: Path, camera: CameraFile | None = None,
                          classifier: TrackClassifier | None = None) -> list[tuple[Track, str]]:
    """Every physics-passing candidate of a video file, labelled by its truth file.

    The truth file ``NAME.truth.json`` beside the video labels a candidate ``object`` (the
    scoring rule) or ``distractor``; without one, every label is ``unknown``. With a
    classifier, each track's ``meta['classifier']`` holds its score.
    """
    truth_path = video.with_name(video.stem + ".truth.json")
    truth = json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.is_file() else None
    found: list[Track] = []
    with open_video(video) as src:
        info = src.info
        det = Detector(info.width, info.height, info.fps,
                       camera.detector if camera is not None else None,
                       camera.calibration() if camera is not None else None,
                       camera.exclude if camera is not None else (),
                       classifier)

        def hook(tr: Track) -> None:
            found.append(tr)

        det.candidate_hook = hook
        for frame in src.frames():
            det.process(frame.luma, frame.t_s)
        det.finish()
    out = []
    for tr in found:
        if classifier is not None:
            s = classifier.score(tr)
            tr.meta["classifier"] = float("nan") if s is None else float(s)
        label = "unknown"
        if truth is not None:
            label = label_track(tr, det.geom.scale, float(truth["fps"]), truth, [], False)
            label = "object" if label == "object" else "distractor"
        out.append((tr, label))
    return out
