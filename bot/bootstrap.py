"""Wiring: builds the database, the unit-of-work factory and the service context from settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.config import Settings
from domain.context import Context
from handlers.api.metrics import Metrics
from storage.db import create_engine, session_factory
from storage.orm import start_mappers
from storage.uow import SqlUnitOfWork

log = logging.getLogger("ticketbot")


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

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions)

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
            **kw,  # type: ignore[arg-type]
        )

    async def close(self) -> None:
        await self.engine.dispose()


def build(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Container:
    start_mappers()
    engine = create_engine(settings.database_url)
    return Container(settings, engine, session_factory(engine), clock)
