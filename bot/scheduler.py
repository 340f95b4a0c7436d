"""APScheduler jobs inside `serve`. Jobs hold no state: deadlines and what was announced live
in the database, so a restart or a second process neither loses nor repeats anything."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.bootstrap import Container
from handlers.api.errors import database_unavailable

log = logging.getLogger("ticketbot.scheduler")


class Jobs:
    def __init__(self, container: Container, wake: Callable[[], None]) -> None:
        self.container = container
        self.wake = wake
        self.running: set[asyncio.Task] = set()

    async def stop(self) -> None:
        """Cancel runs still in flight, so shutdown never waits on a job's database call."""
        for task in list(self.running):
            task.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)

    async def sla_sweep(self) -> None:
        from domain.services.sla_engine import sweep

        await self._run("sla_sweep", lambda: sweep(self.container.uow, self.container.context()))

    async def risk_expiry(self) -> None:
        from domain.services.risks import expiry_run

        await self._run("risk_expiry",
                        lambda: expiry_run(self.container.uow, self.container.context()))

    async def daily_digest(self) -> None:
        from domain.services.digest import post_digest

        await self._run("daily_digest",
                        lambda: post_digest(self.container.uow, self.container.context()))

    async def _run(self, name: str, work: Callable) -> None:
        if not self.container.schema_ready:
            return  # serve is still migrating; the next tick will do it
        task = asyncio.current_task()
        if task is not None:
            self.running.add(task)
        try:
            result = await work()
        except Exception as exc:
            if database_unavailable(exc):
                log.warning("%s skipped: database unavailable", name)
            else:
                log.exception("%s failed", name)
            return
        finally:
            if task is not None:
                self.running.discard(task)
        if result:
            self.wake()


def build_scheduler(container: Container, wake: Callable[[], None]
                    ) -> tuple[AsyncIOScheduler, Jobs]:
    settings = container.settings
    jobs = Jobs(container, wake)
    scheduler = AsyncIOScheduler(
        timezone=settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    scheduler.add_job(jobs.sla_sweep, "interval", seconds=settings.sla_sweep_seconds,
                      id="sla_sweep", next_run_time=datetime.now(UTC))
    scheduler.add_job(jobs.risk_expiry, "cron", hour=7, minute=0, id="risk_expiry")
    scheduler.add_job(jobs.daily_digest, "cron", hour=7, minute=30, id="daily_digest")
    return scheduler, jobs
