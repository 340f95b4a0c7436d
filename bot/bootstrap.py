"""Wiring: builds the database, the unit-of-work factory and the service context from settings."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.config import Settings
from domain.context import Context
from domain.media_links import MediaLinks
from handlers.api.metrics import Metrics
from storage import queries
from storage.db import create_engine, session_factory
from storage.orm import start_mappers
from storage.uow import SqlUnitOfWork

log = logging.getLogger("ticketbot")

MEDIA_LINK_SECRET = "media_links"  # its name in server_secrets


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    clock: Callable[[], datetime] = field(default=utcnow)
    metrics: Metrics = field(default_factory=Metrics)
    # False while `serve` is still bringing the schema up; jobs and /readyz wait for it.
    schema_ready: bool = True
    # Signs links to attachments; set from the settings at once, else loaded from the
    # database on first use (`media_links()`), because the database may be down at start.
    links: MediaLinks | None = None

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions)

    async def database_answers(self, within: float = 2.0) -> bool:
        """Whether the database answers now (a failure is logged, not raised): /readyz, and
        the Slack door before it accepts work it could not do."""
        try:
            async with asyncio.timeout(within), self.uow() as uow:
                await queries.database_answers(uow.session)
            return True
        except Exception as exc:  # any failure to answer means "not ready"
            log.warning("the database is not answering: %s", exc)
            return False

    async def media_links(self) -> MediaLinks:
        if self.links is None:
            async with self.sessions() as session:
                secret = await queries.server_secret(
                    session, MEDIA_LINK_SECRET, lambda: secrets.token_hex(32), self.clock())
            self.links = MediaLinks.from_secret(secret, self.settings.public_base_url)
        return self.links

    async def try_media_links(self) -> MediaLinks | None:
        """As `media_links()`, but None (and a log line) while the database cannot say."""
        if self.links is None and self.schema_ready:
            try:
                await self.media_links()
            except Exception as exc:
                log.warning("media-link secret not loaded yet: %s", exc)
        return self.links

    def context(self, now: datetime | None = None, **kw: object) -> Context:
        s = self.settings
        return Context(
            now=now or self.clock(),
            timezone=s.timezone,
            channels={
                "sla": s.slack_sla_channel,
                "approvals": s.slack_approvals_channel,
                "ops": s.slack_ops_channel,
            },
            media_links=self.links,
            **kw,  # type: ignore[arg-type]
        )

    async def close(self) -> None:
        await self.engine.dispose()


def build(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Container:
    start_mappers()
    engine = create_engine(settings.database_url)
    container = Container(settings, engine, session_factory(engine), clock)
    if settings.media_link_secret:
        container.links = MediaLinks.from_secret(settings.media_link_secret,
                                                 settings.public_base_url)
    return container
