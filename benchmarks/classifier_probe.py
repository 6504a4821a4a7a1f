"""Find the learned track classifier, if one has shipped, and time its calls.

The detector takes any ``detector.classifier.TrackClassifier``; the default
(``PhysicsOnly``) abstains and costs nothing. A learned one loads shipped weights through
a loader in ``detector.classifier``; until it exists the benchmark says "not available".
"""

from __future__ import annotations

import logging
import time
from typing import Any

import detector.classifier as classifier_mod
from benchmarks.common import ROOT
from detector.classifier import TrackClassifier
from detector.tracking import Track

log = logging.getLogger(__name__)

LOADERS = ("load_default", "load_default_classifier", "default_classifier", "load_shipped")
MODELS = ROOT / "models"


def load_classifier() -> tuple[TrackClassifier | None, str]:
    """(the shipped learned classifier or None, a line saying which or why not).

    Tries a zero-argument loader of the shipped weights in ``detector.classifier`` first,
    then ``detector.classifier.load_classifier(path)`` on the weights in ``models/``.
    """
    for name in LOADERS:
        fn = getattr(classifier_mod, name, None)
        if callable(fn):
            try:
                clf = fn()
            except Exception as exc:  # a broken loader must not stop the other numbers
                return None, f"detector.classifier.{name}() failed: {exc}"
            if isinstance(clf, TrackClassifier):
                return clf, f"detector.classifier.{name}()"
    load = getattr(classifier_mod, "load_classifier", None)
    weights = sorted(p for p in MODELS.glob("*") if p.suffix in (".pt", ".pth", ".torchscript"))
    if callable(load) and weights:
        try:
            clf = load(weights[0])
        except Exception as exc:  # a broken model must not stop the other numbers
            return None, f"detector.classifier.load_classifier({weights[0].name}) failed: {exc}"
        if isinstance(clf, TrackClassifier):
            return clf, f"detector.classifier.load_classifier(models/{weights[0].name})"
    return None, ("not available: no shipped classifier weights in models/ and no loader "
                  "for them in detector.classifier yet")


class TimedClassifier:
    """Wraps a classifier and counts its calls and their process CPU seconds."""

    def __init__(self, inner: TrackClassifier) -> None:
        self.inner = inner
        self.calls = 0
        self.cpu_s = 0.0

    @property
    def meta(self) -> Any:
        """The wrapped weights' metadata, so that the detector applies their operating
        threshold (read through, never a copy that could go stale)."""
        return getattr(self.inner, "meta", None)

    def score(self, track: Track) -> float | None:
        c0 = time.process_time()
        try:
            return self.inner.score(track)
        finally:
            self.cpu_s += time.process_time() - c0
            self.calls += 1


def classifier_status() -> dict[str, Any]:
    """Whether a learned classifier is there to time, and where it comes from."""
    clf, how = load_classifier()
    return {"available": clf is not None, "source": how}
