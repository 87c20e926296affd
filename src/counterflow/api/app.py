"""The FastAPI application of one installation: ``create_app(directory, database_url, settings)``.

The app is built per process (``counterflow serve --workers N`` builds N); everything it holds
is in its :class:`~counterflow.api.context.ApiContext`, so two apps in one process (tests) do
not share keys, buckets or queues.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from counterflow import __version__
from counterflow.api import errors
from counterflow.api.accesslog import AccessLog
from counterflow.api.auth import SECURITY_SCHEMES
from counterflow.api.bodylimit import BodyLimit, body_limit
from counterflow.api.context import ApiContext
from counterflow.api.routes import build_router
from counterflow.api.settings import ApiSettings
from counterflow.service.state import ServiceState
from counterflow.store.datadir import DataDirectory

DESCRIPTION = """\
Screening of crypto addresses against sanctions lists, law-enforcement lists and labels, with
each partner seeing only what the Traffic Light Protocol lets it see.

Every endpoint but `/v1/health` needs an API key (`Authorization: Bearer KEY` or
`X-API-Key: KEY`). Errors are `{"error": {"status", "code", "message", "details"}}`.
See docs/api.md in the Counterflow repository.
"""


class CounterflowApi(FastAPI):
    """The app, whose OpenAPI document also declares the key schemes the routes check."""

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        return schema


def _settle_collector() -> None:
    """Put what start-up loaded out of the cyclic collector's sight.

    The tag store, graph indexes and designation tables live as long as the process: left
    tracked, every full collection walks their hundreds of thousands of objects while requests
    wait (the slowest thousandth of answers took 200 ms or more). Frozen, collections look only
    at what requests allocate. Reference counting still frees a frozen object that is dropped
    (a reloaded tag store replaces the old one); only a reference cycle among them would stay.
    """
    gc.collect()
    gc.freeze()


def create_app(
    directory: DataDirectory | str | Path | None = None,
    database_url: str | None = None,
    settings: ApiSettings | None = None,
) -> FastAPI:
    """The REST API over ``directory`` (default: ``$COUNTERFLOW_DATA_DIR`` or
    ``./counterflow-data``) with its service state at ``database_url`` (default:
    ``$COUNTERFLOW_DATABASE_URL`` or ``DATA_DIR/service.sqlite``).

    The service database is opened (tables created if missing) here, so a wrong URL fails now
    and not on the first request. The audit writer starts and the screener is loaded and warmed
    when the app starts serving (its lifespan), and queued audit entries are written when it
    stops.
    """
    data = directory if isinstance(directory, DataDirectory) else DataDirectory(directory)
    settings = settings or ApiSettings()
    state = ServiceState(data, database_url)
    state.ensure_schema()
    context = ApiContext(data, state, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        context.start()
        try:
            await anyio.to_thread.run_sync(context.warm)
            _settle_collector()
            yield
        finally:
            context.stop()

    app = CounterflowApi(
        title="Counterflow",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.context = context
    errors.install(app)
    app.add_middleware(BodyLimit, limit=body_limit(settings.batch_limit))
    if settings.access_log:
        app.add_middleware(AccessLog)  # outermost: refused bodies are logged too
    app.include_router(build_router(context))
    return app
