"""The alternative: a YOLO classification network (ultralytics) on track images.

Needs the ``yolo`` extra (``pip install 'fallwatch[yolo]'``: ultralytics-opencv-headless,
AGPL-3.0). The network is built from ``yolov8n-cls.yaml`` (nothing is downloaded), trained
on :func:`detector.classifier.track_image` pictures of the same candidates as the torch
model, exported by ultralytics to TorchScript, and saved with our metadata inside, so
that running it needs torch only (:class:`detector.classifier.ImageClassifier`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import cv2

from detector.classifier import (
    FEATURE_VERSION,
    FORMAT,
    IMAGE,
    META_NAME,
    ImageClassifier,
    ModelError,
    track_image,
)
from pipelines.train.collect import Candidate

log = logging.getLogger(__name__)


def _offline(workdir: Path) -> None:
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("YOLO_CONFIG_DIR", str(workdir / "yolo_config"))
    os.environ.setdefault("YOLO_VERBOSE", "false")


def write_images(cands: Sequence[Candidate], root: Path, split: str) -> int:
    """Write ``root/split/{object,distractor}/NNNNN.png`` (BGR order as cv2 writes it);
    ``mixed`` candidates are neither class and are left out."""
    n = 0
    for i, c in enumerate(cands):
        if c.cls is None:
            continue
        d = root / split / c.cls
        d.mkdir(parents=True, exist_ok=True)
        # ultralytics reads with cv2 and flips BGR to RGB: store reversed so that the
        # network sees channel order (0, 1, 2) of track_image, as ImageClassifier feeds it
        cv2.imwrite(str(d / f"{i:05d}.png"), track_image(c.track)[:, :, ::-1])
        n += 1
    return n


def fit_yolo(train: Sequence[Candidate], val: Sequence[Candidate], seed: int, workdir: Path,
             epochs: int = 15, batch: int = 64) -> ImageClassifier:
    """Train, export to TorchScript, and load back as an :class:`ImageClassifier`."""
    _offline(workdir)
    try:
        import torch
        from ultralytics import YOLO
    except ImportError as exc:
        raise ModelError(f"the YOLO classifier needs the yolo extra: pip install "
                         f"'fallwatch[yolo]' ({exc})") from exc
    data = workdir / "yolo_data"
    shutil.rmtree(data, ignore_errors=True)
    write_images(train, data, "train")
    write_images(val, data, "val")
    for split in ("train", "val"):  # both classes must exist in both splits
        for cls in ("object", "distractor"):
            (data / split / cls).mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    model = YOLO("yolov8n-cls.yaml", task="classify")
    model.train(
        data=str(data), imgsz=IMAGE, epochs=epochs, batch=batch, workers=0, seed=seed,
        deterministic=True, device="cpu", plots=False, val=True, amp=False,
        project=str(workdir / "yolo_runs"), name="cls", exist_ok=True, verbose=False,
        pretrained=False, hsv_h=0.0, hsv_s=0.0, hsv_v=0.0, erasing=0.0, scale=0.0,
        fliplr=0.5, flipud=0.0, auto_augment=None, cache=False, patience=1000,
    )
    names = model.names if isinstance(model.names, dict) else dict(enumerate(model.names))
    positive = next(k for k, v in names.items() if v == "object")
    exported = Path(model.export(format="torchscript", imgsz=IMAGE, device="cpu"))
    meta = {"format": FORMAT, "kind": "torchscript-image", "feature_version": FEATURE_VERSION,
            "positive_index": int(positive), "image": IMAGE, "seed": seed, "epochs": epochs,
            "architecture": "ultralytics yolov8n-cls.yaml (from scratch), TorchScript export"}
    module = torch.jit.load(str(exported), map_location="cpu")
    out = workdir / "track_yolo.pt"
    torch.jit.save(module, str(out), _extra_files={META_NAME: json.dumps(meta)})
    return ImageClassifier.load(out)
