"""``fallwatch train`` on a tiny set, end to end (scenes, candidates, torch and YOLO models,
weights, model card), and the same seed giving the same weights."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from detector.classifier import ImageClassifier, TorchClassifier, load_classifier
from detector.tracking import Track
from pipelines.train.collect import CandidateCache, CollectJob, collect_scene, label_candidate
from pipelines.train.command import scene_options
from pipelines.train.fit import fit_tracknet

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_tiny_training_writes_both_models_and_a_card_that_describes_them(
        tmp_path: Path) -> None:
    out = tmp_path / "models"
    r = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "train", "--seed", "3", "--out", str(out),
         "--scenes", "6", "--test-scenes", "3", "--duration", "4", "--hard", "10",
         "--epochs", "2", "--yolo-epochs", "1", "--jobs", "2"],
        capture_output=True, text=True, cwd=tmp_path, check=False, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    torch_pt, yolo_pt = out / "track_torch.pt", out / "track_yolo.pt"
    assert isinstance(load_classifier(torch_pt), TorchClassifier)
    yolo = load_classifier(yolo_pt)
    assert isinstance(yolo, ImageClassifier)  # runs through torch.jit, no ultralytics
    default = (out / "DEFAULT").read_text(encoding="utf-8").strip()
    assert default in {"track_torch.pt", "track_yolo.pt"}
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    for p in (torch_pt, yolo_pt):
        assert hashlib.sha256(p.read_bytes()).hexdigest() in card
    for heading in ("## Inputs", "## Models", "## Training data and seed",
                    "## Held-out metrics", "Per kind", "version 1", "seed 3"):
        assert heading in card
    assert "track_torch.pt: threshold" in r.stdout and "track_yolo.pt" in r.stdout
    assert "## Operating threshold (validation scenes)" in card
    # one validation scene (20% of 6) has too few object tracks to choose from: both
    # models carry the default bar, and say why
    for clf in (load_classifier(torch_pt), yolo):
        assert clf.threshold == 0.5 and "fewer than" in clf.meta["threshold_rule"]
    assert not list(out.glob("*.part"))


def test_the_same_seed_gives_the_same_weights_and_another_seed_does_not() -> None:
    opts = scene_options(4.0)
    cands = [c for i in range(3) for c in collect_scene(CollectJob(11, i, opts, 12))]
    labels = {c.label == "object" for c in cands}
    assert labels == {True, False}, [c.label for c in cands]

    def weights(seed: int) -> list[np.ndarray]:
        clf = fit_tracknet(cands, seed, epochs=2)
        return [v.detach().numpy().copy() for v in clf.model.state_dict().values()]

    a, b, c = weights(5), weights(5), weights(6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    torch.use_deterministic_algorithms(False)


def test_held_out_figures_give_keep_and_reject_rates_over_thresholds() -> None:
    """The model card's operating points: keep and reject rates at fixed thresholds, and
    the highest threshold that keeps a target share of the object tracks."""
    from pipelines.train.collect import Candidate
    from pipelines.train.fit import measure

    labels = ["object", "object", "object", "leaf", "stoop", "leaf", "object", "mixed"]
    # the second last fails the physics; the mixed track is neither class
    strict = [True, True, True, True, True, True, False, True]
    scores = np.array([0.9, 0.8, 0.2, 0.6, 0.1, 0.05, 0.0, 0.01])
    cands = [Candidate(None, lab, s, "x")  # type: ignore[arg-type]
             for lab, s in zip(labels, strict, strict=True)]
    m = measure(scores, cands, 0.5)
    assert (m["object_tracks"], m["distractor_tracks"]) == (3, 3)
    assert m["objects_kept"] == 2 and m["distractors_rejected"] == 2
    assert m["mixed_tracks"] == 1 and m["per_kind"]["mixed"] == {
        "tracks": 1, "kept": 0, "rejected": 1}
    at = {p["threshold"]: p for p in m["curve"]}
    assert at[0.5]["object_keep_rate"] == pytest.approx(2 / 3)
    assert at[0.1]["object_keep_rate"] == 1.0
    assert at[0.1]["distractor_reject_rate"] == pytest.approx(1 / 3)
    assert at[0.9]["object_keep_rate"] == pytest.approx(1 / 3)
    full = next(fk for fk in m["for_keep"] if fk["keep_target"] == 0.98)
    assert full["threshold"] == pytest.approx(0.2) and full["object_keep_rate"] == 1.0
    assert full["distractor_reject_rate"] == pytest.approx(2 / 3)


def test_the_operating_threshold_keeps_98_percent_unless_too_few_distractors_go() -> None:
    """Chosen on validation tracks that pass the default physics: the highest threshold
    below which at most 2% of the objects fall, unless it lets more than 10% of the
    distractors through; then the lowest that rejects 90% of them."""
    from pipelines.train.collect import Candidate
    from pipelines.train.fit import choose_threshold

    rng = np.random.default_rng(0)
    obj = rng.permutation(np.linspace(0.01, 1.0, 100))  # the 3rd lowest is 0.03

    def chosen(dis: np.ndarray, n_obj: int = 100) -> dict:
        # ignored: an object that fails the default physics, and a mixed track
        scores = np.concatenate([obj[:n_obj], dis, [0.0, 0.0]])
        labels = ["object"] * n_obj + ["leaf"] * len(dis) + ["object", "mixed"]
        strict = [True] * (n_obj + len(dis)) + [False, True]
        cands = [Candidate(None, lab, st, "v")  # type: ignore[arg-type]
                 for lab, st in zip(labels, strict, strict=True)]
        return choose_threshold(scores, cands)

    low = chosen(np.linspace(0.0, 0.02, 60))  # both targets reachable
    assert low["threshold"] == pytest.approx(0.03)
    assert (low["object_tracks"], low["objects_kept"]) == (100, 98)
    assert (low["distractor_tracks"], low["distractors_rejected"]) == (60, 60)
    high = np.linspace(0.0, 0.5, 60)  # at 0.03, 56 of 60 distractors would pass
    ch = chosen(high)
    assert ch["threshold"] == pytest.approx(high[53])  # just above the 54th lowest
    assert ch["distractors_rejected"] == 54 and "rejects 90%" in ch["rule"]
    assert ch["objects_kept"] == int((obj >= high[53]).sum())
    few = chosen(high, n_obj=10)  # 10 objects: too few to choose from
    assert few["threshold"] == 0.5 and "fewer than" in few["rule"]


def _track(xs: list[float], ys: list[float], fps: float) -> Track:
    n = len(xs)
    return Track(1, np.arange(n) / fps, np.array(xs, float), np.array(ys, float),
                 np.full(n, 4.0), np.full(n, 20.0), np.full(n, 3.0))


def test_a_track_mostly_off_the_object_is_mixed_not_an_object() -> None:
    """A leaf's track that crosses a falling object for a few frames is a hit by the scoring
    rule, but it is not the object's track: it is labelled ``mixed``."""
    fps = 25.0
    truth = {"objects": [{"track": [[f, 100.0, 10.0 * f, 2.0] for f in range(10)]}]}
    on_obj = [100.0] * 10, [10.0 * f for f in range(10)]
    assert label_candidate(_track(*on_obj, fps), 1.0, fps, truth, [], False) == ("object", 10)
    # 4 of 10 points on the object, the rest 200 px away
    xs = [100.0] * 4 + [300.0] * 6
    assert label_candidate(_track(xs, on_obj[1], fps), 1.0, fps, truth, [], False) == (
        "mixed", 4)
    # 6 of 10: mostly the object's track
    xs = [100.0] * 6 + [300.0] * 4
    assert label_candidate(_track(xs, on_obj[1], fps), 1.0, fps, truth, [], False)[0] == "object"
    # 2 points: not a hit at all
    xs = [100.0] * 2 + [300.0] * 8
    assert label_candidate(_track(xs, on_obj[1], fps), 1.0, fps, truth, [], True)[0] == "rain"


def test_the_candidate_cache_gives_back_the_same_tracks_and_never_a_stale_scene(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import pipelines.train.collect as collect_mod
    import pipelines.train.command as command

    cache = CandidateCache(tmp_path / "cache")
    first = command.collect(11, 2, 12, 4.0, 1, "train", cache=cache)
    files = sorted((tmp_path / "cache").glob("*.pkl"))
    assert [f.name.split("-")[0] for f in files] == ["train_11_0000", "train_11_0001"]
    assert first and not list((tmp_path / "cache").glob("*.part"))

    def no_rendering(job: CollectJob) -> list[object]:
        raise AssertionError(f"scene {job.index} collected again")

    monkeypatch.setattr(command, "collect_scene", no_rendering)
    again = command.collect(11, 2, 12, 4.0, 1, "train", cache=CandidateCache(tmp_path / "cache"))
    assert [(c.label, c.strict, c.scene) for c in again] == \
        [(c.label, c.strict, c.scene) for c in first]
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.track.x, b.track.x) and np.array_equal(a.track.t, b.track.t)
        assert np.array_equal(a.track.crops, b.track.crops)

    # other options, or other collection code, are other files: nothing stale comes back
    calls: list[int] = []

    def counted(job: CollectJob) -> list[object]:
        calls.append(job.index)
        return []

    monkeypatch.setattr(command, "collect_scene", counted)
    command.collect(11, 2, 13, 4.0, 1, "train", cache=CandidateCache(tmp_path / "cache"))
    assert calls == [0, 1]
    monkeypatch.setattr(collect_mod, "code_digest", lambda: "another detector")
    command.collect(11, 1, 12, 4.0, 1, "train", cache=CandidateCache(tmp_path / "cache"))
    assert calls == [0, 1, 0]
    monkeypatch.undo()

    # a torn file is collected again, with a warning naming it
    monkeypatch.setattr(command, "collect_scene", counted)
    files[1].write_bytes(files[1].read_bytes()[:100])
    calls.clear()
    got = command.collect(11, 2, 12, 4.0, 1, "train", cache=CandidateCache(tmp_path / "cache"))
    assert calls == [1] and files[1].name in caplog.text and "unreadable" in caplog.text
    assert len(got) == sum(c.scene == "train_11_0000" for c in first)
