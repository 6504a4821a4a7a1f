"""``fallwatch serve --data DIR [--host H] [--port P]``: the API and the web page.

With no admin token yet, it says how to make the first one (there are no default
credentials). ``FALLWATCH_DATA`` and ``FALLWATCH_DATABASE_URL`` may stand in for the options.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from detector.errors import FallwatchError

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="the data folder of `fallwatch watch` (default: $FALLWATCH_DATA)")
    p.add_argument("--database-url", metavar="URL",
                   help="a SQLAlchemy URL instead of DIR/fallwatch.db")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from pipelines.service.app import create_app
    from pipelines.service.config import Settings

    try:
        settings = Settings.from_env(data_dir=args.data, database_url=args.database_url)
    except ValidationError:
        print("fallwatch serve: expected --data DIR (or FALLWATCH_DATA)", file=sys.stderr)
        return 2
    try:
        app = create_app(settings)
    except FallwatchError as exc:
        print(f"fallwatch serve: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
