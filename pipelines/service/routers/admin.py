"""Admin routes: ``/api/cameras`` (live status), ``/api/tokens`` and ``/api/audit``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from pipelines.service.deps import AdminDep, StoreDep, client_of
from pipelines.service.schemas import (
    AuditPublic,
    AuditsPublic,
    CameraPublic,
    CamerasPublic,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    TokensPublic,
)
from pipelines.service.tokens import (
    TokenError,
    create_token,
    list_audit,
    list_tokens,
    revoke_token,
    write_audit,
)

cameras = APIRouter(prefix="/api/cameras", tags=["cameras"])
tokens = APIRouter(prefix="/api/tokens", tags=["tokens"])
audit = APIRouter(prefix="/api/audit", tags=["audit"])


@cameras.get("", response_model=CamerasPublic)
def list_cameras(store: StoreDep, _token: AdminDep) -> CamerasPublic:
    """Each camera's live status (fps, dropped frames, reconnects, last frame time)."""
    data = [CameraPublic.model_validate(c.to_json()) for c in store.list_cameras()]
    return CamerasPublic(data=data, count=len(data))


@tokens.get("", response_model=TokensPublic)
def get_tokens(store: StoreDep, _token: AdminDep) -> TokensPublic:
    """All API tokens (never their secrets), revoked ones included."""
    data = [TokenPublic.model_validate(t, from_attributes=True) for t in list_tokens(store)]
    return TokensPublic(data=data, count=len(data))


@tokens.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def post_token(body: TokenCreate, request: Request, store: StoreDep,
               token: AdminDep) -> TokenCreated:
    """A new token; its secret is in this answer only."""
    secret, info = create_token(store, body.role, body.name)
    write_audit(store, token=token, action="token-create", item=f"token {info.id}",
                client=client_of(request), detail=f"role {info.role}")
    return TokenCreated(token=secret, **TokenPublic.model_validate(
        info, from_attributes=True).model_dump())


@tokens.delete("/{token_id}", response_model=TokenPublic,
               responses={404: {}, 409: {"description": "the token making the request"}})
def delete_token(token_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request,
                 store: StoreDep, token: AdminDep) -> TokenPublic:
    """Revoke a token: it is refused from now on (kept in the list, marked revoked)."""
    if token_id == token.id:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail="a token cannot revoke itself (use another admin token)")
    try:
        info = revoke_token(store, token_id)
    except TokenError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    write_audit(store, token=token, action="token-revoke", item=f"token {token_id}",
                client=client_of(request))
    return TokenPublic.model_validate(info, from_attributes=True)


@audit.get("", response_model=AuditsPublic)
def get_audit(
    store: StoreDep,
    _token: AdminDep,
    event_id: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditsPublic:
    """The audit log, newest first: every evidence download and export, hold and token
    change (who, when, what, sha256)."""
    rows, total = list_audit(store, event_id=event_id, limit=limit, offset=offset)
    return AuditsPublic(data=[AuditPublic.model_validate(r, from_attributes=True)
                              for r in rows], count=total, offset=offset, limit=limit)
