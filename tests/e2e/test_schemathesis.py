"""Schemathesis against the REST API's own OpenAPI document: no input gives a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from bot.bootstrap import Container
from bot.config import Settings
from domain.services.people import create_token
from domain.services.tickets import NewTicket, create_ticket
from handlers.api.openapi import document
from tests.e2e.live import LiveApp
from tests.seed import seed_people

schema = schemathesis.openapi.from_dict(document())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    root = tmp_path_factory.mktemp("schemathesis")

    async def prepare(container: Container) -> None:
        people = await seed_people(container)
        async with container.uow() as uow:
            ctx = container.context()
            await create_ticket(uow, ctx, people.actor("supervisor"),
                                NewTicket(dr_number="DR1769155", description="seed"))
            app.token = await create_token(uow, ctx, people.admin)
            await uow.commit()

    app = LiveApp(Settings(database_url=f"sqlite+aiosqlite:///{root / 'api.db'}",
                           media_dir=str(root / "media")), prepare)
    with app.running():
        yield app


@schema.parametrize()
@settings(max_examples=8, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_500(case: schemathesis.Case, live: LiveApp) -> None:
    response = case.call(base_url=live.url,
                         headers={"Authorization": f"Bearer {live.token}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if response.status_code >= 400 and "json" in response.headers.get("Content-Type", [""])[0]:
        assert "error" in response.json()
