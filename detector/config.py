"""Every tunable of the detector, with bounds, in one pydantic model.

A camera file's ``detector:`` block is validated against this model, so a typo in a
key is an error that names it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DetectorConfig(BaseModel):
    """Tunables of the detection pipeline. Defaults suit 720p-4K at 15-30 fps."""

    model_config = ConfigDict(extra="forbid", frozen=True)
