"""Schemathesis against the REST API's own OpenAPI document: no input gives a 500."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings

from bot.app import create_app
from bot.bootstrap import build
from bot.config import Settings
from domain.services.people import create_token
from domain.services.tickets import NewTicket, create_ticket
from handlers.api.openapi import document
from storage.migrate import migrate
from tests.seed import seed_people

schema = schemathesis.openapi.from_dict(document())


class LiveApp:
    """The real app on a real port, in a thread with its own event loop."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.token = ""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        container = build(Settings(database_url=f"sqlite+aiosqlite:///{self.db}",
                                   media_dir=str(self.db.parent / "media")))
        await migrate(container.engine)
        people = await seed_people(container)
        async with container.uow() as uow:
            ctx = container.context()
            await create_ticket(uow, ctx, people.actor("supervisor"),
                                NewTicket(dr_number="DR1769155", description="seed"))
            self.token = await create_token(uow, ctx, people.admin)
            await uow.commit()
        self.runner = web.AppRunner(create_app(container, run_worker=False))
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    app = LiveApp(tmp_path_factory.mktemp("schemathesis") / "api.db")
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    assert app.ready.wait(30)
    yield app
    app.stop()
    thread.join(10)


@schema.parametrize()
@settings(max_examples=8, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_500(case: schemathesis.Case, live: LiveApp) -> None:
    response = case.call(base_url=f"http://127.0.0.1:{live.port}",
                         headers={"Authorization": f"Bearer {live.token}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if response.status_code >= 400 and "json" in response.headers.get("Content-Type", [""])[0]:
        assert "error" in response.json()
