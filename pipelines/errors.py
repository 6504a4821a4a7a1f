"""Exception types of the pipelines package."""

from detector.errors import FallwatchError


class CameraFileError(FallwatchError):
    """A camera file that is missing, unreadable or not of the expected form."""
