"""The scheduler really runs inside the app: its jobs are registered and the sweep fires."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import RUNTIME, create_app
from bot.bootstrap import build
from domain.enums import Priority
from domain.services import tickets as svc
from storage import tables as t
from tests.conftest import Clock, make_settings
from tests.seed import seed_people


async def test_jobs_are_registered_and_the_sweep_runs(database_url: str, tmp_path: Path,
                                                      clock: Clock) -> None:
    settings = make_settings(database_url, tmp_path, slack_sla_channel="C0SLA",
                             sla_sweep_seconds=0.2)
    container = build(settings, clock=clock)
    people = await seed_people(container)
    async with container.uow() as uow:
        await svc.create_ticket(uow, container.context(), people.actor("supervisor"),
                                svc.NewTicket(dr_number="DR1769155", description="x",
                                              priority=Priority.CRITICAL))
        await uow.commit()
    clock.advance(minutes=45)  # already breached when the app starts
    app = create_app(container)
    async with TestClient(TestServer(app)):
        scheduler = app[RUNTIME].scheduler
        assert {j.id for j in scheduler.get_jobs()} == {"sla_sweep", "risk_expiry",
                                                        "daily_digest"}
        assert scheduler.get_job("sla_sweep").trigger.interval == timedelta(seconds=0.2)
        deadline = time.monotonic() + 10
        while True:
            async with container.uow() as uow:
                n = (await uow.session.execute(
                    select(func.count()).select_from(t.sla_announcements))).scalar_one()
            if n:
                break
            assert time.monotonic() < deadline, "the scheduled sweep never ran"
            await asyncio.sleep(0.05)
    assert not scheduler.running
    await container.close()
