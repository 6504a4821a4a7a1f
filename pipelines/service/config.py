"""Settings of the web service, from the environment (``FALLWATCH_*``) or the command line."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipelines.evidence.keys import fallwatch_home

__all__ = ["Settings"]


class Settings(BaseModel):
    """``data_dir``: the folder of ``fallwatch watch`` (its ``fallwatch.db`` and evidence);
    ``database_url``: a SQLAlchemy URL instead of ``DATA_DIR/fallwatch.db``; ``home``: where
    the site's signing key lives (its public key goes into exports); ``page_size_max``:
    the largest page of ``/api/events``."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path
    database_url: str | None = None
    home: Path = Field(default_factory=fallwatch_home)
    page_size_max: int = Field(default=200, ge=1, le=10_000)
    title: str = "fallwatch"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """``FALLWATCH_DATA``, ``FALLWATCH_DATABASE_URL`` and ``FALLWATCH_HOME``, with
        ``overrides`` (values that are None are ignored) taking precedence."""
        values: dict[str, object] = {}
        if os.environ.get("FALLWATCH_DATA"):
            values["data_dir"] = Path(os.environ["FALLWATCH_DATA"])
        if os.environ.get("FALLWATCH_DATABASE_URL"):
            values["database_url"] = os.environ["FALLWATCH_DATABASE_URL"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
