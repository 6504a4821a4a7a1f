"""``fallwatch token create|list|revoke --data DIR``: API tokens of the web service.

``create --role ROLE [--name NAME]`` prints the new token on its last line (shown once;
only its sha256 is stored). ``list`` prints id, role, name, created, revoked. ``revoke ID``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detector.errors import FallwatchError


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    for name, help_text in (("create", "make a new token and print it (last line)"),
                            ("list", "list the tokens (never their secrets)"),
                            ("revoke", "revoke a token by id")):
        q = sub.add_parser(name, help=help_text, description=help_text)
        q.add_argument("--data", type=Path, metavar="DIR", required=True,
                       help="the data folder of `fallwatch watch` / `fallwatch serve`")
        q.add_argument("--database-url", metavar="URL",
                       help="a SQLAlchemy URL instead of DIR/fallwatch.db")
        if name == "create":
            q.add_argument("--role", required=True,
                           choices=["viewer", "investigator", "admin"])
            q.add_argument("--name", default="", help="who or what the token is for")
        if name == "revoke":
            q.add_argument("token_id", type=int, metavar="ID")


def run(args: argparse.Namespace) -> int:
    from pipelines.service.tokens import TokenError, create_token, list_tokens, revoke_token
    from pipelines.store import EventStore

    try:
        store = EventStore.open(args.data, url=args.database_url)
    except FallwatchError as exc:
        print(f"fallwatch token: {exc}", file=sys.stderr)
        return 2
    try:
        if args.token_command == "create":
            secret, info = create_token(store, args.role, args.name)
            print(f"created token {info.id} ({info.role}, {info.name}); it is shown only "
                  "once, keep it:")
            print(secret)
        elif args.token_command == "list":
            for t in list_tokens(store):
                revoked = t.revoked_utc.isoformat() if t.revoked_utc else "-"
                print(f"{t.id}\t{t.role}\t{t.name}\t{t.created_utc.isoformat()}\t{revoked}")
        else:
            t = revoke_token(store, args.token_id)
            print(f"revoked token {t.id} ({t.role}, {t.name})")
    except TokenError as exc:
        print(f"fallwatch token: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0
