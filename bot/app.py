"""The one aiohttp application: health, metrics, REST, and the chat doors when configured."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.bootstrap import Container
from handlers.api import openapi, rest
from handlers.api.errors import error_middleware, error_response
from handlers.api.metrics import Metrics
from storage import queries

log = logging.getLogger("ticketbot")

MAX_BODY_BYTES = 1024 * 1024  # webhooks and REST bodies; uploads have their own limit
METRICS = web.AppKey("metrics", Metrics)

Hook = Callable[[web.Application], Awaitable[None]]


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    container = request.app[rest.CONTAINER]
    try:
        async with container.uow() as uow:
            await queries.database_answers(uow.session)
    except Exception as exc:  # any failure to answer means "not ready"
        log.warning("readiness check failed: %s", exc)
        return error_response(503, "The database is not answering.")
    return web.json_response({"status": "ready"})


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi.document())


def create_app(container: Container, *, extra_startup: list[Hook] | None = None) -> web.Application:
    metrics = Metrics()
    app = web.Application(
        middlewares=[metrics.middleware(), error_middleware, rest.auth_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    app[rest.CONTAINER] = container
    app[METRICS] = metrics
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics.handle)
    app.router.add_get("/api/v1/openapi.json", openapi_json)
    rest.add_routes(app)
    for hook in extra_startup or []:
        app.on_startup.append(hook)
    return app
