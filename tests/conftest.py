"""Suite-wide fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _fallwatch_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Signing keys and site state go to a temporary FALLWATCH_HOME, never the user's own
    ``~/.fallwatch`` (tests that need a particular home still set their own)."""
    home: Path = tmp_path_factory.mktemp("fallwatch-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("FALLWATCH_HOME", str(home))
    yield
    mp.undo()
