"""The real aiohttp app over HTTP: health, readiness, metrics, the REST reads and their auth."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.bootstrap import Container, build
from bot.config import Settings
from domain.enums import Priority, Source
from domain.services import tickets as svc
from domain.services.people import create_token
from tests.seed import People


@pytest.fixture
async def client(container: Container) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(container))) as c:
        yield c


async def token_for(container: Container, user) -> str:
    async with container.uow() as uow:
        token = await create_token(uow, container.context(), user)
        await uow.commit()
    return token


async def seed(container: Container, people: People) -> None:
    async with container.uow() as uow:
        ctx = container.context()
        await svc.create_ticket(uow, ctx, people.actor("tech"), svc.NewTicket(
            dr_number="DR1769155", description="no light", source=Source.WHATSAPP,
            priority=Priority.HIGH))
        await svc.create_ticket(uow, ctx, people.actor("supervisor"), svc.NewTicket(
            dr_number="DR1716390", description="fibre cut at pole", external_ref="FT406824"))
        await svc.create_ticket(uow, ctx, people.actor("tech2"), svc.NewTicket(
            dr_number="DR9999999", description="slow speeds"))
        await uow.commit()


async def test_health_ready_and_openapi(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"
    doc = await (await client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/tickets/{ref}" in doc["paths"]


async def test_readyz_is_503_when_the_database_does_not_answer(tmp_path) -> None:
    # A well-formed URL to a port where nothing listens.
    settings = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/nothing",
                        media_dir=str(tmp_path))
    container = build(settings)
    try:
        async with TestClient(TestServer(create_app(container))) as c:
            assert (await c.get("/healthz")).status == 200
            resp = await c.get("/readyz")
            assert resp.status == 503
            body = await resp.json()
            assert body["error"]["code"] == "unavailable"
    finally:
        await container.close()


async def test_metrics_count_requests_by_route(client: TestClient) -> None:
    await client.get("/healthz")
    text = await (await client.get("/metrics")).text()
    assert 'ticketbot_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert "ticketbot_http_request_seconds_bucket" in text


async def test_rest_needs_a_valid_token(client: TestClient, container: Container,
                                        people: People) -> None:
    resp = await client.get("/api/v1/tickets")
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthorized"
    resp = await client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"})
    assert resp.status == 401
    token = await token_for(container, people.qa)
    resp = await client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200


async def test_ticket_json_contract(client: TestClient, container: Container,
                                    people: People) -> None:
    await seed(container, people)
    token = await token_for(container, people.supervisor)
    auth = {"Authorization": f"Bearer {token}"}
    body = await (await client.get("/api/v1/tickets/ff-1", headers=auth)).json()
    for key in ("ref", "status", "priority", "ticket_type", "source", "external_ref",
                "dr_number", "pole_number", "pon_number", "zone", "project", "assignee",
                "ont_serial", "ont_rx_level_dbm", "fault_cause", "guarantee_status",
                "billing_classification", "rectification_count", "is_infrastructure",
                "verification", "sla", "created_at", "updated_at"):
        assert key in body, key
    assert body["ref"] == "FF000001"
    assert body["assignee"]["name"] == "Thabo Mokoena"
    assert body["assignee"]["phone"] == "27825550101"
    assert body["project"] == "Lawley"
    assert body["verification"]["total"] == 7 and body["verification"]["done"] == 0
    assert body["sla"]["response"]["state"] == "on_track"
    assert body["sla"]["response"]["due_at"].startswith("2026-11-17T10:00")
    by_external = await (await client.get("/api/v1/tickets/FT406824", headers=auth)).json()
    assert by_external["ref"] == "FF000002"
    missing = await client.get("/api/v1/tickets/FF999999", headers=auth)
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"


async def test_list_filters_and_paging(client: TestClient, container: Container,
                                       people: People) -> None:
    await seed(container, people)
    auth = {"Authorization": f"Bearer {await token_for(container, people.supervisor)}"}

    async def refs(query: str) -> list[str]:
        resp = await client.get(f"/api/v1/tickets?{query}", headers=auth)
        assert resp.status == 200, await resp.text()
        return [t["ref"] for t in (await resp.json())["items"]]

    assert await refs("") == ["FF000003", "FF000002", "FF000001"]
    assert await refs("status=open") == ["FF000002"]
    assert await refs("status=assigned,open") == ["FF000003", "FF000002", "FF000001"]
    assert await refs("priority=P2") == ["FF000001"]
    assert await refs("zone=z08") == ["FF000001"]
    assert await refs("dr=dr 1716390") == ["FF000002"]
    assert await refs("pole=LAW.P.F280") == ["FF000001"]
    assert await refs("project=Mamelodi") == ["FF000002"]
    assert await refs("q=fibre") == ["FF000002"]
    assert await refs("q=1716390") == ["FF000002"]  # full text takes in the drop's places
    assert await refs("q=law.p.f280") == ["FF000001"]
    assert await refs("assignee=0825550101") == ["FF000001"]
    assert await refs("assignee=thabo mokoena") == ["FF000001"]
    assert await refs("assignee=none") == ["FF000002"]
    assert await refs("contractor=Velocity Build") == ["FF000001"]
    assert await refs("sla=on_track") == ["FF000003", "FF000002", "FF000001"]
    assert await refs("sla=breached") == []
    page = await (await client.get("/api/v1/tickets?limit=1&offset=1", headers=auth)).json()
    assert page["total"] == 3 and [t["ref"] for t in page["items"]] == ["FF000002"]
    bad = await client.get("/api/v1/tickets?status=nonsense", headers=auth)
    assert bad.status == 422
    assert "nonsense" in (await bad.json())["error"]["message"]
    bad = await client.get("/api/v1/tickets?limit=x", headers=auth)
    assert bad.status == 422


async def test_technicians_see_only_their_own(client: TestClient, container: Container,
                                              people: People) -> None:
    await seed(container, people)
    auth = {"Authorization": f"Bearer {await token_for(container, people.tech)}"}
    body = await (await client.get("/api/v1/tickets", headers=auth)).json()
    assert [t["ref"] for t in body["items"]] == ["FF000001"]
    assert (await client.get("/api/v1/tickets/FF000003", headers=auth)).status == 404


async def test_audit_trail_over_rest(client: TestClient, container: Container,
                                     people: People) -> None:
    await seed(container, people)
    auth = {"Authorization": f"Bearer {await token_for(container, people.admin)}"}
    body = await (await client.get("/api/v1/tickets/FF000001/audit", headers=auth)).json()
    assert [e["action"] for e in body["items"]] == ["created", "assigned"]
    assert body["items"][0]["actor"]["name"] == "Thabo Mokoena"
    assert body["items"][0]["channel"] == "whatsapp"
    for sub in ("handovers", "risks", "attachments"):
        resp = await client.get(f"/api/v1/tickets/FF000001/{sub}", headers=auth)
        assert resp.status == 200 and (await resp.json())["items"] == []


async def test_unknown_routes_answer_json(client: TestClient) -> None:
    resp = await client.get("/nope")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
