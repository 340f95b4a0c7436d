"""`ticketbot serve`: start the web server at once, bring the database up in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from bot.app import create_app
from bot.bootstrap import Container, build
from bot.config import Settings
from storage.migrate import migrate

log = logging.getLogger("ticketbot")

MIGRATE_RETRY_SECONDS = 2.0


def log_channels(settings: Settings) -> None:
    if settings.slack_enabled:
        log.info("Slack enabled (API %s)", settings.slack_api_url)
    else:
        log.info("Slack disabled: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to enable it")
    if settings.whatsapp_enabled:
        log.info("WhatsApp enabled (WAHA %s, session %s)", settings.waha_url,
                 settings.waha_session)
    else:
        log.info("WhatsApp disabled: set TICKETBOT_WAHA_API_KEY to enable it")


async def keep_migrating(container: Container, ready: asyncio.Event) -> None:
    """The database may be down at start-up: retry until the schema is in place."""
    attempt = 0
    while True:
        try:
            await migrate(container.engine)
            container.schema_ready = True
            ready.set()
            log.info("database ready (%s)", container.engine.url.render_as_string())
            return
        except Exception as exc:
            attempt += 1
            if attempt == 1 or attempt % 15 == 0:
                log.warning("database not ready, retrying: %s", exc)
            await asyncio.sleep(MIGRATE_RETRY_SECONDS)


async def run_server(settings: Settings) -> None:
    container = build(settings)
    container.schema_ready = False
    log_channels(settings)
    ready = asyncio.Event()
    app = create_app(container)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    migrating = asyncio.create_task(keep_migrating(container, ready))
    await site.start()
    log.info("listening on http://%s:%s", settings.host, settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        migrating.cancel()
        await runner.cleanup()
        await container.close()
