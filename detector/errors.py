"""Exception types of the detector package."""


class FallwatchError(Exception):
    """Base of every error fallwatch raises on purpose."""


class CalibrationError(FallwatchError):
    """A facade calibration that cannot map pixels to the wall."""
