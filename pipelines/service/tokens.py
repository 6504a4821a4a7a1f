"""API tokens and the audit log, kept in the event store's database.

A token is ``secrets.token_urlsafe(32)`` (256 random bits); only its sha256 is stored, and
a presented token is looked up by its hash and compared in constant time. Roles are ranked:
viewer < investigator < admin (each may do all that the ones below it may).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from detector.errors import FallwatchError
from pipelines.store import EventStore
from pipelines.store.models import AuditRow, TokenRow

log = logging.getLogger(__name__)

__all__ = [
    "ROLES",
    "AuditEntry",
    "TokenError",
    "TokenInfo",
    "admin_token_count",
    "authenticate",
    "create_token",
    "hash_token",
    "list_audit",
    "list_tokens",
    "revoke_token",
    "role_allows",
    "write_audit",
]

ROLES = ("viewer", "investigator", "admin")
TOKEN_PREFIX = "fw_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(FallwatchError):
    """A token operation that cannot be done (unknown role, unknown token id)."""


@dataclass(frozen=True)
class TokenInfo:
    """A stored token, never its secret."""

    id: int
    name: str
    role: str
    created_utc: datetime
    revoked_utc: datetime | None
    last_used_utc: datetime | None

    @classmethod
    def _from_row(cls, row: TokenRow) -> TokenInfo:
        return cls(id=row.id, name=row.name, role=row.role, created_utc=_utc(row.created_utc),
                   revoked_utc=_utc_opt(row.revoked_utc),
                   last_used_utc=_utc_opt(row.last_used_utc))


@dataclass(frozen=True)
class AuditEntry:
    id: int
    time_utc: datetime
    token_id: int | None
    token_name: str | None
    role: str | None
    action: str
    event_id: str | None
    item: str | None
    sha256: str | None
    bytes: int | None
    client: str | None
    detail: str | None


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _utc_opt(t: datetime | None) -> datetime | None:
    return None if t is None else _utc(t)


def hash_token(token: str) -> str:
    """Hex sha256 of the token's UTF-8 bytes (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` ranks at least as high as ``needed``."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def create_token(store: EventStore, role: str, name: str = "") -> tuple[str, TokenInfo]:
    """A new random token with ``role``: returns ``(secret, info)``; the secret is shown
    once and never stored. Raises ``TokenError`` for an unknown role."""
    if role not in ROLES:
        raise TokenError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with store.session() as s:
        row = TokenRow(name=name or f"{role} token", role=role, token_sha256=hash_token(secret),
                       created_utc=now)
        s.add(row)
        s.flush()
        info = TokenInfo._from_row(row)
    log.info("created API token %d (%s, %s)", info.id, info.role, info.name)
    return secret, info


def authenticate(store: EventStore, secret: str) -> TokenInfo | None:
    """The live (not revoked) token whose secret is ``secret``, else None; notes its use."""
    digest = hash_token(secret)
    with store.session() as s:
        row = s.scalars(select(TokenRow).where(TokenRow.token_sha256 == digest)).first()
        if row is None or not hmac.compare_digest(row.token_sha256, digest):
            return None
        if row.revoked_utc is not None:
            return None
        now = datetime.now(UTC)
        last = _utc_opt(row.last_used_utc)
        if last is None or now - last > LAST_USED_RESOLUTION:
            # one write a minute per token, not one per request (a playing video asks
            # many ranges; the supervisor shares the database)
            row.last_used_utc = now
        return TokenInfo._from_row(row)


def list_tokens(store: EventStore) -> list[TokenInfo]:
    with store.session() as s:
        return [TokenInfo._from_row(r)
                for r in s.scalars(select(TokenRow).order_by(TokenRow.id)).all()]


def revoke_token(store: EventStore, token_id: int) -> TokenInfo:
    """Revoke a token (kept, marked revoked, refused from now on). Raises ``TokenError``."""
    with store.session() as s:
        row = s.get(TokenRow, token_id)
        if row is None:
            raise TokenError(f"{store.label}: no API token with id {token_id}")
        if row.revoked_utc is None:
            row.revoked_utc = datetime.now(UTC)
        return TokenInfo._from_row(row)


def admin_token_count(store: EventStore) -> int:
    """How many admin tokens are live (not revoked)."""
    with store.session() as s:
        q = select(func.count()).select_from(TokenRow).where(
            TokenRow.role == "admin", TokenRow.revoked_utc.is_(None))
        return int(s.scalar(q) or 0)


def write_audit(store: EventStore, *, token: TokenInfo | None, action: str,
                event_id: str | None = None, item: str | None = None,
                sha256: str | None = None, size: int | None = None,
                client: str | None = None, detail: str | None = None) -> None:
    """Append one row to the audit log (who, when, what, sha256)."""
    with store.session() as s:
        s.add(AuditRow(time_utc=datetime.now(UTC), token_id=token.id if token else None,
                       token_name=token.name if token else None,
                       role=token.role if token else None, action=action,
                       event_id=event_id, item=item, sha256=sha256, bytes=size,
                       client=client, detail=detail))


def list_audit(store: EventStore, *, event_id: str | None = None, limit: int = 100,
               offset: int = 0) -> tuple[list[AuditEntry], int]:
    """Audit rows, newest first, and how many match in all."""
    q: Any = select(AuditRow)
    c: Any = select(func.count()).select_from(AuditRow)
    if event_id is not None:
        q = q.where(AuditRow.event_id == event_id)
        c = c.where(AuditRow.event_id == event_id)
    q = q.order_by(AuditRow.id.desc()).offset(offset).limit(limit)
    with store.session() as s:
        rows = s.scalars(q).all()
        total = int(s.scalar(c) or 0)
        return [AuditEntry(id=r.id, time_utc=_utc(r.time_utc), token_id=r.token_id,
                           token_name=r.token_name, role=r.role, action=r.action,
                           event_id=r.event_id, item=r.item, sha256=r.sha256, bytes=r.bytes,
                           client=r.client, detail=r.detail) for r in rows], total
