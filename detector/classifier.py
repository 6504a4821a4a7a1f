"""The seam for a learned second opinion on candidate tracks.

A classifier sees each track that passed the physics tests, once, and returns the
probability that it is a thrown or dropped object, or None to abstain. The default
abstains, so physics alone decides. A torch model lives behind this protocol in its own
module; the detector never imports torch.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from detector.tracking import Track


@runtime_checkable
class TrackClassifier(Protocol):
    """Scores a candidate track (working pixels, see :class:`detector.tracking.Track`)."""

    def score(self, track: Track) -> float | None:
        """Probability in [0, 1] that ``track`` is a falling object; None to abstain."""
        ...


class PhysicsOnly:
    """The default classifier: always abstains."""

    def score(self, track: Track) -> float | None:
        return None
