"""Exception types of the pipelines package."""

from typing import TYPE_CHECKING

from detector.errors import FallwatchError

if TYPE_CHECKING:
    from pipelines.sources import StreamDamage


class CameraFileError(FallwatchError):
    """A camera file that is missing, unreadable or not of the expected form."""


class SourceError(FallwatchError):
    """A video that cannot be read at all: missing, not a video, no video stream, no index.

    Raised before any frame is delivered; nothing was analysed (``fallwatch analyze`` exits 2).
    """


class StreamDamagedError(FallwatchError):
    """A video that broke midway: the intact frames were delivered, the damaged ones were not.

    Raised by ``VideoSource.raise_if_damaged()`` after iteration; ``damage`` holds the
    ``pipelines.sources.StreamDamage`` record (where it broke, how many frames were intact).
    ``fallwatch analyze`` writes the events found so far and exits 3.
    """

    def __init__(self, damage: "StreamDamage") -> None:
        super().__init__(damage.message)
        self.damage = damage
