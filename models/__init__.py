"""Shipped classifier weights (package data, so they load after a plain ``pip install .``).

``fallwatch train --seed S`` writes ``track_torch.pt``, ``track_yolo.pt``, ``DEFAULT`` (the
file name of the default model) and ``MODEL_CARD.md`` here.
"""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent


def default_model_path(folder: Path = MODELS_DIR) -> Path:
    """The default model named by ``folder/DEFAULT`` (``track_torch.pt`` without one)."""
    marker = folder / "DEFAULT"
    name = marker.read_text(encoding="utf-8").strip() if marker.is_file() else "track_torch.pt"
    return folder / name
