"""``/healthz`` (no token), ``/metrics`` (Prometheus text, any valid token) and ``/api/me``."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from pipelines.service.deps import AnyTokenDep, StoreDep
from pipelines.service.schemas import Health, Me

log = logging.getLogger(__name__)

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health, responses={503: {}})
def healthz(store: StoreDep) -> Health:
    """Whether the service can read its database (no token needed)."""
    try:
        n = store.count_events()
    except SQLAlchemyError as exc:
        log.warning("health check: database %s unreachable: %s", store.label,
                    type(exc).__name__)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            detail=f"database {store.label} unreachable") from None
    return Health(status="ok", database=store.engine.dialect.name, events=n)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request, _token: AnyTokenDep) -> Response:
    """Prometheus text format: events by status, each camera's counters, HTTP requests.
    Prometheus sends the token with ``authorization: {credentials: TOKEN}``."""
    return Response(generate_latest(request.app.state.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)


@router.get("/api/me", response_model=Me, tags=["tokens"])
def me(token: AnyTokenDep) -> Me:
    """The token making the request: its id, name and role (the web page asks this)."""
    return Me(id=token.id, name=token.name, role=token.role)
