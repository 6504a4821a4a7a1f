"""Dependencies of the routes, as ``Annotated`` aliases: the store, the settings, and the
caller's token checked for a role (401 without a valid token, 403 with too low a role)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pipelines.service.config import Settings
from pipelines.service.tokens import TokenInfo, authenticate, role_allows
from pipelines.store import EventStore

__all__ = [
    "AdminDep",
    "AnyTokenDep",
    "InvestigatorDep",
    "SettingsDep",
    "StoreDep",
    "ViewerDep",
    "client_of",
]

bearer = HTTPBearer(auto_error=False, description="an API token: `fallwatch token create`")


def get_store(request: Request) -> EventStore:
    store: EventStore = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[EventStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_token(
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> TokenInfo:
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="expected a valid API token in 'Authorization: Bearer TOKEN'",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None or not credentials.credentials:
        raise unauthorized
    token = authenticate(store, credentials.credentials)
    if token is None:
        unauthorized.detail = "the API token is unknown or revoked"
        raise unauthorized
    return token


AnyTokenDep = Annotated[TokenInfo, Depends(current_token)]


def require(role: str) -> Callable[[TokenInfo], TokenInfo]:
    def check(token: AnyTokenDep) -> TokenInfo:
        if not role_allows(token.role, role):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail=f"this needs the {role} role; the token is {token.role}")
        return token

    return check


ViewerDep = Annotated[TokenInfo, Depends(require("viewer"))]
InvestigatorDep = Annotated[TokenInfo, Depends(require("investigator"))]
AdminDep = Annotated[TokenInfo, Depends(require("admin"))]


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None
