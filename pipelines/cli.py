"""The ``fallwatch`` command line: one sub-command per module, imported lazily."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from pipelines.runtime import configure_process

# sub-command -> module with ``add_arguments(parser)`` and ``run(args) -> int``
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("pipelines.synth.command", "render labelled scenes (H.264 + truth + camera file)"),
    "analyze": ("pipelines.analyze", "find falling objects in a video file, write events as JSON"),
    "eval": ("pipelines.evaluate", "score the detector on labelled scenes (recall, false alarms)"),
    "train": ("pipelines.train.command", "train the track classifier from generated scenes"),
    "watch": ("pipelines.live.command", "watch live cameras (RTSP): events, alerts, evidence"),
    "verify": ("pipelines.evidence.verify",
               "check an evidence folder: every file's sha256 and the Ed25519 signature"),
    "keys": ("pipelines.evidence.keys", "the evidence signing key: `keys export` prints the "
             "public key"),
    "serve": ("pipelines.service.serve", "the API and the web page for police and security "
              "staff (FastAPI)"),
    "token": ("pipelines.service.token_cmd", "API tokens of `serve`: create (prints it), list, "
              "revoke"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fallwatch", description=__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    configure_process()
    code: int = importlib.import_module(args._module).run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
