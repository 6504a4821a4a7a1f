"""The seam for a learned second opinion on candidate tracks, and the learned models.

A classifier sees each track that passed the physics tests, once, and returns the
probability that it is a thrown or dropped object, or None to abstain. The default
abstains, so physics alone decides.

Two learned models stand behind the seam, both run by plain torch on the CPU:

- :class:`TrackNet` (``kind: torch``): a small two-branch network. Motion branch: an
  MLP over :func:`detector.track_features.motion_features`; appearance branch: a CNN over
  ``N_CROPS`` patches stacked into channels (:func:`detector.track_features.appearance`).
  Saved with ``torch.save`` as ``{"meta": {...}, "state_dict": {...}}``.
- a YOLO classification network trained with ultralytics on the same tracks drawn as
  one 3-channel image (:func:`track_image`), exported to TorchScript by ultralytics and
  saved with our metadata as an extra file (``kind: torchscript-image``); running it
  needs torch only.

torch is imported lazily: ``detector`` works without it for everything else.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import cv2
import numpy as np

from detector.errors import FallwatchError
from detector.track_features import (
    CHANNELS,
    CROP,
    N_CROPS,
    N_MOTION,
    appearance,
    motion_features,
)
from detector.tracking import Track

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

FORMAT = "fallwatch-track-classifier"
FEATURE_VERSION = 1  # bump when features or track images change: old weights then refuse to load
IMAGE = 64  # side of a track image (YOLO input), px
META_NAME = "fallwatch.json"  # extra file inside an exported TorchScript model
# the bar for weights that carry no operating threshold of their own (meta "threshold")
DEFAULT_THRESHOLD = 0.5


class ModelError(FallwatchError):
    """Classifier weights that are missing, unreadable or made for other features/code."""


@runtime_checkable
class TrackClassifier(Protocol):
    """Scores a candidate track (working pixels, see :class:`detector.tracking.Track`)."""

    def score(self, track: Track) -> float | None:
        """Probability in [0, 1] that ``track`` is a falling object; None to abstain."""
        ...


def weights_threshold(meta: dict[str, Any]) -> float:
    """The operating threshold stored with the weights (``meta["threshold"]``, chosen by
    ``fallwatch train`` on validation scenes), else :data:`DEFAULT_THRESHOLD`."""
    thr = meta.get("threshold")
    if isinstance(thr, (int, float)) and 0.0 <= float(thr) <= 1.0:
        return float(thr)
    return DEFAULT_THRESHOLD


def operating_threshold(configured: float | None, classifier: object) -> float:
    """The classifier bar a detector applies: the config's ``classifier_threshold`` when
    set, else the loaded weights' own (:func:`weights_threshold`)."""
    if configured is not None:
        return float(configured)
    meta = getattr(classifier, "meta", None)
    return weights_threshold(meta) if isinstance(meta, dict) else DEFAULT_THRESHOLD


class PhysicsOnly:
    """The default classifier: always abstains."""

    def score(self, track: Track) -> float | None:
        return None


# ---- track images (the YOLO model's input) ---------------------------------------------
def track_image(track: Track) -> np.ndarray:
    """(IMAGE, IMAGE, 3) uint8 picture of a track for an image classifier.

    Channel 0: four luma patches along the track in a 2x2 grid; channel 1: the same four
    difference-to-background patches; channel 2: the trajectory drawn in units of the
    expected gravity (1 g over 1 s spans the picture's height), brightness rising with
    time, and the track's detections per frame as the left column's height.
    """
    half = IMAGE // 2
    img = np.zeros((IMAGE, IMAGE, 3), np.uint8)
    app = appearance(track).reshape(N_CROPS, CHANNELS, CROP, CROP)
    pick = np.linspace(0, N_CROPS - 1, 4).round().astype(np.intp)
    for k, i in enumerate(pick.tolist()):
        r, c = divmod(k, 2)
        for ch in range(2):
            p = cv2.resize(app[i, ch], (half, half), interpolation=cv2.INTER_LINEAR)
            img[r * half:(r + 1) * half, c * half:(c + 1) * half, ch] = np.clip(
                128.0 + 40.0 * p, 0, 255).astype(np.uint8)
    g = float(track.meta.get("g_px", 0.0)) or 100.0
    x = (track.x - track.x[0]) / g
    y = (track.y - track.y[0]) / g
    scale = IMAGE / 2.0  # 0.5 (g s^2) per picture height: a 1 s free fall
    u = np.clip(IMAGE / 2 + x * scale, 0, IMAGE - 1).round().astype(np.intp)
    v = np.clip(4 + y * scale, 0, IMAGE - 1).round().astype(np.intp)
    light = (80 + 175 * np.linspace(0, 1, len(track))).astype(np.uint8)
    img[v, u, 2] = light
    fps = float(track.meta.get("fps", 25.0)) or 25.0
    dur = float(track.t[-1] - track.t[0])
    ratio = min(len(track) / max(dur * fps + 1.0, 1.0), 1.0)
    img[IMAGE - round(ratio * (IMAGE - 1)) - 1:, 0, 2] = 255
    return img


# ---- the torch model --------------------------------------------------------------------
def build_tracknet(width: int = 32) -> torch.nn.Module:
    """The two-branch network (needs torch). ~40k parameters at ``width`` 32."""
    import torch
    from torch import nn

    class TrackNet(nn.Module):
        """motion (B, N_MOTION) + crops (B, N_CROPS*CHANNELS, CROP, CROP) -> logit (B,)."""

        def __init__(self) -> None:
            super().__init__()
            self.motion = nn.Sequential(
                nn.Linear(N_MOTION, 2 * width), nn.ReLU(), nn.Dropout(0.1),
                nn.Linear(2 * width, width), nn.ReLU(),
            )
            cin = N_CROPS * CHANNELS
            self.crops = nn.Sequential(
                nn.Conv2d(cin, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            )
            self.head = nn.Sequential(nn.Linear(2 * width, width), nn.ReLU(),
                                      nn.Linear(width, 1))
            # standardisation of the motion features, set from the training set
            self.register_buffer("m_mean", torch.zeros(N_MOTION))
            self.register_buffer("m_std", torch.ones(N_MOTION))

        def forward(self, motion: torch.Tensor, crops: torch.Tensor) -> torch.Tensor:
            mean: torch.Tensor = self.m_mean  # type: ignore[assignment]
            std: torch.Tensor = self.m_std  # type: ignore[assignment]
            motion = (motion - mean) / std
            h = torch.cat([self.motion(motion), self.crops(crops)], dim=1)
            out: torch.Tensor = self.head(h).squeeze(1)
            return out

    return TrackNet()


def is_torchscript(path: Path) -> bool:
    """True when ``path`` is a TorchScript archive carrying our metadata."""
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("extra/" + META_NAME) for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _check_meta(meta: Any, path: Path, kind: str) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else meta
        raise ModelError(f"{path}: not a fallwatch track classifier (expected format "
                         f"'{FORMAT}', found {found!r})")
    if meta.get("feature_version") != FEATURE_VERSION:
        raise ModelError(
            f"{path}: weights made for track features version {meta.get('feature_version')}, "
            f"this fallwatch computes version {FEATURE_VERSION}; retrain with `fallwatch train`"
        )
    if meta.get("kind") != kind:
        raise ModelError(f"{path}: expected a '{kind}' model, found '{meta.get('kind')}'")
    return meta


def _file_sha256(path: Path | None) -> str | None:
    if path is None:
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


class TorchClassifier:
    """Scores tracks with a trained :func:`build_tracknet` model (``kind: torch``).

    ``name`` (the weights' file name) and ``sha256`` (of the file) go into evidence.
    """

    def __init__(self, model: torch.nn.Module, meta: dict[str, Any], path: Path | None = None):
        self.model = model.eval()
        self.meta = meta
        self.path = path
        self.name = path.name if path is not None else "track_torch (in memory)"
        self.sha256 = _file_sha256(path)

    @classmethod
    def load(cls, path: Path) -> TorchClassifier:
        import torch

        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            raise ModelError(f"{path}: unreadable weights ({exc})") from exc
        if not isinstance(blob, dict) or "meta" not in blob or "state_dict" not in blob:
            raise ModelError(f"{path}: expected a dict with 'meta' and 'state_dict', found "
                             f"{sorted(blob) if isinstance(blob, dict) else type(blob).__name__}")
        meta = _check_meta(blob["meta"], path, "torch")
        model = build_tracknet(int(meta.get("width", 32)))
        try:
            model.load_state_dict(blob["state_dict"], strict=True)
        except RuntimeError as exc:
            raise ModelError(f"{path}: weights do not fit the network this fallwatch builds: "
                             f"{str(exc).splitlines()[0]}") from exc
        return cls(model, meta, path)

    @property
    def threshold(self) -> float:
        """Its own operating threshold (:func:`weights_threshold` of its metadata)."""
        return weights_threshold(self.meta)

    def score(self, track: Track) -> float | None:
        p = self.score_batch([track])
        return float(p[0])

    def score_batch(self, tracks: list[Track]) -> np.ndarray:
        """(B,) probabilities for B tracks."""
        import torch

        m = torch.from_numpy(np.stack([motion_features(t) for t in tracks]))
        c = torch.from_numpy(np.stack([appearance(t) for t in tracks]))
        with torch.inference_mode():
            p = torch.sigmoid(self.model(m, c))
        out: np.ndarray = p.numpy().astype(np.float64)
        return out


class ImageClassifier:
    """Scores tracks with an exported TorchScript image classifier (``kind:
    torchscript-image``), e.g. the YOLO model; its output row is class probabilities and
    ``meta['positive_index']`` names the object class."""

    def __init__(self, module: Any, meta: dict[str, Any], path: Path | None = None):
        self.module = module
        self.meta = meta
        self.path = path
        self.name = path.name if path is not None else "image classifier (in memory)"
        self.sha256 = _file_sha256(path)
        self.positive = int(meta.get("positive_index", 1))

    @classmethod
    def load(cls, path: Path) -> ImageClassifier:
        import torch

        extra = {META_NAME: ""}
        try:
            with warnings.catch_warnings():  # torch.jit is deprecated, still the export format
                warnings.simplefilter("ignore", FutureWarning)
                module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelError(f"{path}: unreadable TorchScript model ({exc})") from exc
        try:
            meta = json.loads(extra[META_NAME] or "null")
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}: its {META_NAME} is not JSON ({exc})") from exc
        meta = _check_meta(meta, path, "torchscript-image")
        module.eval()
        return cls(module, meta, path)

    @property
    def threshold(self) -> float:
        """Its own operating threshold (:func:`weights_threshold` of its metadata)."""
        return weights_threshold(self.meta)

    def score(self, track: Track) -> float | None:
        return float(self.score_batch([track])[0])

    def score_batch(self, tracks: list[Track]) -> np.ndarray:
        """(B,) probabilities for B tracks."""
        import torch

        imgs = np.stack([track_image(t) for t in tracks])  # (B, H, W, 3)
        x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().div(255.0).contiguous()
        with torch.inference_mode():
            y = self.module(x)
        if isinstance(y, (list, tuple)):
            y = y[0]
        out: np.ndarray = y[:, self.positive].float().numpy().astype(np.float64)
        return out


LearnedClassifier = TorchClassifier | ImageClassifier


def load_classifier(path: str | Path) -> LearnedClassifier:
    """Load shipped or trained weights; the kind is read from the file.

    Raises:
        ModelError: the file is missing, unreadable, or made for other features.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: classifier weights not found (expected a file written by "
                         "`fallwatch train`)")
    try:
        import torch  # noqa: F401
    except ImportError as exc:  # pragma: no cover - torch is a dependency
        raise ModelError(f"{path}: the learned classifier needs torch ({exc})") from exc
    if not zipfile.is_zipfile(path):
        head = path.read_bytes()[:16]
        raise ModelError(f"{path}: not classifier weights (expected the zip archive that "
                         f"`fallwatch train` writes, found a file starting {head!r})")
    if is_torchscript(path):
        return ImageClassifier.load(path)
    return TorchClassifier.load(path)
