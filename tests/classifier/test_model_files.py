"""Weights files: missing, foreign or mismatched weights give clear errors; the shipped
weights are package data of a built wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from detector.classifier import (
    FEATURE_VERSION,
    FORMAT,
    META_NAME,
    ImageClassifier,
    ModelError,
    TorchClassifier,
    build_tracknet,
    load_classifier,
)
from models import MODELS_DIR, default_model_path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_videos" / "day_7_0000.mp4"


def _save(path: Path, meta: dict, state: dict | None = None) -> Path:
    torch.save({"meta": meta, "state_dict": state or build_tracknet().state_dict()}, path)
    return path


def _meta(**kw: object) -> dict:
    return {"format": FORMAT, "kind": "torch", "feature_version": FEATURE_VERSION,
            "width": 32, **kw}


def test_missing_weights_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"nope\.pt: classifier weights not found"):
        load_classifier(tmp_path / "nope.pt")


def test_a_file_that_is_not_weights_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "notes.pt"
    p.write_text("hello")
    with pytest.raises(ModelError, match=r"notes\.pt: not classifier weights"):
        load_classifier(p)


def test_weights_for_other_features_ask_for_retraining(tmp_path: Path) -> None:
    p = _save(tmp_path / "old.pt", _meta(feature_version=FEATURE_VERSION + 1))
    with pytest.raises(ModelError, match="retrain with `fallwatch train`"):
        load_classifier(p)


def test_weights_that_do_not_fit_the_network_are_refused(tmp_path: Path) -> None:
    p = _save(tmp_path / "wide.pt", _meta(), build_tracknet(width=16).state_dict())
    with pytest.raises(ModelError, match="do not fit the network"):
        load_classifier(p)


def test_someone_elses_torch_file_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "other.pt"
    torch.save({"meta": {"format": "something-else"}, "state_dict": {}}, p)
    with pytest.raises(ModelError, match="not a fallwatch track classifier"):
        load_classifier(p)


def test_a_torchscript_model_without_our_metadata_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "bare.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(p))
    with pytest.raises(ModelError):
        load_classifier(p)
    q = tmp_path / "tagged.pt"
    meta = {"format": FORMAT, "kind": "torchscript-image", "feature_version": FEATURE_VERSION}
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(q),
                   _extra_files={META_NAME: json.dumps(meta)})
    assert isinstance(load_classifier(q), ImageClassifier)


def test_shipped_weights_load_and_the_card_states_their_sha256() -> None:
    path = default_model_path()
    clf = load_classifier(path)
    assert isinstance(clf, TorchClassifier | ImageClassifier)
    card = (MODELS_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    import hashlib

    for p in sorted(MODELS_DIR.glob("*.pt")):
        assert hashlib.sha256(p.read_bytes()).hexdigest() in card, p.name
        assert p.stat().st_size < 8 * 2**20  # a few MB at most


def test_analyze_with_missing_weights_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "pipelines.cli", "analyze", str(SAMPLE),
                        "--model", str(tmp_path / "gone.pt")],
                       capture_output=True, text=True, cwd=ROOT, check=False)
    assert r.returncode == 2
    assert "gone.pt: classifier weights not found" in r.stderr
    assert r.stdout == ""


def test_a_built_wheel_carries_the_shipped_weights(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    wheel = next(tmp_path.glob("fallwatch-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"models/__init__.py", "models/DEFAULT", "models/MODEL_CARD.md"} <= names
    default = (MODELS_DIR / "DEFAULT").read_text(encoding="utf-8").strip()
    assert f"models/{default}" in names
