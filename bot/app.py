"""The one aiohttp application: health, metrics, REST, and the chat doors when configured."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.bootstrap import Container
from handlers.api import media, openapi, rest, writes
from handlers.api.errors import error_middleware, error_response
from handlers.api.metrics import Metrics
from handlers.delivery import DeliveryWorker, Transport, WhatsAppTransport
from handlers.slack.door import SlackDoor, build_client
from handlers.slack.transport import SlackTransport
from handlers.whatsapp.client import WahaClient
from handlers.whatsapp.inbox import InboxWorker
from handlers.whatsapp.webhook import WhatsAppDoor

log = logging.getLogger("ticketbot")

MAX_BODY_BYTES = 21 * 1024 * 1024  # a weekly workbook upload; webhooks check their own
Hook = Callable[[web.Application], Awaitable[None]]


@dataclass
class Runtime:
    """What lives as long as the app: outbound HTTP, the doors, the delivery worker."""

    container: Container
    metrics: Metrics
    run_worker: bool = True
    http: aiohttp.ClientSession | None = None
    waha: WahaClient | None = None
    whatsapp: WhatsAppDoor | None = None
    slack: SlackDoor | None = None
    worker: DeliveryWorker | None = None
    inbox: InboxWorker | None = None
    scheduler: Any = None
    jobs: Any = None
    transports: dict[str, Transport] = field(default_factory=dict)

    def wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.wake()


RUNTIME = web.AppKey("runtime", Runtime)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    container = request.app[rest.CONTAINER]
    if not container.schema_ready:
        return error_response(503, "The database schema is being brought up to date.")
    if not await container.database_answers():
        return error_response(503, "The database is not answering.")
    return web.json_response({"status": "ready"})


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi.document())


async def waha_webhook(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    if runtime.whatsapp is None:
        return error_response(503, "WhatsApp is not configured (TICKETBOT_WAHA_API_KEY).")
    return await runtime.whatsapp.webhook(request)


async def slack_events(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    if runtime.slack is None:
        return error_response(503, "Slack is not configured (SLACK_BOT_TOKEN, "
                                   "SLACK_SIGNING_SECRET).")
    if (request.content_length or 0) > 1024 * 1024:
        return error_response(413, "The request is larger than 1 MB.")
    return await runtime.slack.handle(request)


async def load_media_links(container: Container, retry_seconds: float = 2.0) -> None:
    """The media-link secret, loaded once the schema is in place (the database may be down
    or still migrating at start), so cards rendered from then on carry photo links."""
    failures = 0
    while container.links is None:
        if container.schema_ready:
            try:
                await container.media_links()
                return
            except Exception as exc:
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    log.warning("media-link secret not loaded yet, retrying: %s", exc)
        await asyncio.sleep(retry_seconds)


def build_transports(container: Container, http: aiohttp.ClientSession) -> dict[str, Transport]:
    """The outbound channels the settings enable (the CLI's one-shot commands use it too)."""
    settings = container.settings
    transports: dict[str, Transport] = {}
    if settings.whatsapp_enabled:
        assert settings.waha_api_key
        waha = WahaClient(http, settings.waha_url, settings.waha_api_key, settings.waha_session)
        transports["whatsapp"] = WhatsAppTransport(waha)
    if settings.slack_enabled:
        transports["slack"] = SlackTransport(build_client(settings), container.sessions)
    return transports


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    settings = runtime.container.settings
    runtime.http = aiohttp.ClientSession()
    links = asyncio.create_task(load_media_links(runtime.container))
    if settings.whatsapp_enabled:
        assert settings.waha_api_key
        runtime.waha = WahaClient(runtime.http, settings.waha_url, settings.waha_api_key,
                                  settings.waha_session)
        door = WhatsAppDoor(runtime.container, runtime.waha, runtime.wake_worker,
                            on_stored=lambda: runtime.inbox.wake() if runtime.inbox else None)
        runtime.whatsapp = door
        runtime.inbox = InboxWorker(runtime.container.sessions, door.apply_stored,
                                    runtime.container.clock)
        # Always running with WhatsApp on: what the webhook stored is applied by nothing else.
        runtime.inbox.start()
        runtime.transports["whatsapp"] = WhatsAppTransport(runtime.waha)
    if settings.slack_enabled:
        client = build_client(settings)
        runtime.slack = SlackDoor(runtime.container, client, runtime.wake_worker)
        runtime.transports["slack"] = SlackTransport(client, runtime.container.sessions)
    runtime.worker = DeliveryWorker(
        runtime.container.sessions, runtime.transports, runtime.container.clock,
        on_sent=lambda channel: runtime.metrics.messages_sent.labels(channel).inc(),
    )
    if runtime.run_worker:
        if runtime.transports:
            runtime.worker.start()
        from bot.scheduler import build_scheduler

        runtime.scheduler, runtime.jobs = build_scheduler(runtime.container,
                                                          runtime.wake_worker)
        runtime.scheduler.start()
    yield
    links.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await links
    if runtime.scheduler is not None:
        runtime.scheduler.shutdown(wait=False)
        await runtime.jobs.stop()
    if runtime.slack is not None:
        await runtime.slack.close()
    if runtime.inbox is not None:
        await runtime.inbox.stop()
    await runtime.worker.stop()
    await runtime.http.close()


def create_app(container: Container, *, run_worker: bool = True) -> web.Application:
    metrics = container.metrics
    app = web.Application(
        middlewares=[metrics.middleware(), error_middleware, rest.auth_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    app[rest.CONTAINER] = container
    app[RUNTIME] = Runtime(container, metrics, run_worker=run_worker)
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics.handle)
    app.router.add_get("/api/v1/openapi.json", openapi_json)
    app.router.add_post("/webhooks/waha", waha_webhook)
    app.router.add_post("/slack/events", slack_events)
    rest.add_routes(app)
    media.add_routes(app)
    writes.add_routes(app)
    return app
