"""The app factory: ``create_app(settings)`` opens the store (running its migrations) and
wires the routers, the metrics and the web page.

    app = create_app(Settings(data_dir=Path("/srv/fallwatch")))
    # uvicorn.run(app) -- or `fallwatch serve --data /srv/fallwatch`

Routes: ``/api/events`` (list, one, evidence files, hold, export), ``/api/cameras``,
``/api/tokens``, ``/api/audit``, ``/api/me``, ``/metrics``, ``/healthz``, ``/docs`` (OpenAPI),
and the web page at ``/`` with its files under ``/static``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from pipelines.service.config import Settings
from pipelines.service.metrics import ServiceMetrics
from pipelines.service.routers import admin, events, system
from pipelines.service.tokens import admin_token_count
from pipelines.store import EventStore

log = logging.getLogger(__name__)

__all__ = ["FIRST_ADMIN_HINT", "create_app"]

FIRST_ADMIN_HINT = ("no admin API token exists yet; create the first one with:\n"
                    "    fallwatch token create --data {data} --role admin --name NAME\n"
                    "(it prints the token on its last line; the token is shown only once)")


def _static_dir() -> Path:
    return Path(str(resources.files("pipelines.service") / "static"))


def create_app(settings: Settings, store: EventStore | None = None) -> FastAPI:
    """The web service over ``settings.data_dir`` (or ``settings.database_url``); ``store``
    may be passed in (the app then leaves it open at shutdown)."""
    own_store = store is None
    if store is None:
        store = EventStore.open(settings.data_dir, url=settings.database_url)
    if admin_token_count(store) == 0:
        log.warning(FIRST_ADMIN_HINT.format(data=settings.data_dir))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if own_store:
            store.close()

    app = FastAPI(
        title=settings.title,
        summary="Events of falling objects and their evidence, for police and security staff",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.metrics = ServiceMetrics(store)

    @app.middleware("http")
    async def count_requests(request: Request,
                             call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        app.state.metrics.requests.labels(request.method, template,
                                          str(response.status_code)).inc()
        return response

    app.include_router(events.router)
    app.include_router(admin.cameras)
    app.include_router(admin.tokens)
    app.include_router(admin.audit)
    app.include_router(system.router)

    static = _static_dir()
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(static / "index.html", media_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    return app
