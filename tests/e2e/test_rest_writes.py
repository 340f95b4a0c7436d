"""REST writes, imports and exports over HTTP, with the same permissions as chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.bootstrap import Container
from domain.services.people import create_token
from tests.seed import SHARED, People

W47 = SHARED / "data" / "weekly-report-2026-W47.xlsx"


@pytest.fixture
async def client(container: Container) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(container))) as c:
        yield c


async def auth(container: Container, user) -> dict[str, str]:
    async with container.uow() as uow:
        token = await create_token(uow, container.context(), user)
        await uow.commit()
    return {"Authorization": f"Bearer {token}"}


async def test_the_chat_commands_over_rest(client: TestClient, container: Container,
                                           people: People) -> None:
    sup = await auth(container, people.supervisor)
    tech = await auth(container, people.tech)
    resp = await client.post("/api/v1/tickets", json={"dr_number": "dr 1769155",
                                                      "description": "no light",
                                                      "priority": "high"}, headers=sup)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["ref"] == "FF000001" and body["pole_number"] == "LAW.P.F280"

    # a technician cannot assign; the supervisor can
    resp = await client.post("/api/v1/tickets/FF000001/assign", json={"assignee": "0825550101"},
                             headers=tech)
    assert resp.status in (403, 404)
    resp = await client.post("/api/v1/tickets/FF000001/assign", json={"assignee": "0825550101"},
                             headers=sup)
    assert resp.status == 200 and (await resp.json())["status"] == "assigned"

    resp = await client.post("/api/v1/tickets/FF000001/status", json={"status": "in_progress"},
                             headers=tech)
    assert resp.status == 200 and (await resp.json())["status"] == "in_progress"
    for kind, value in (("ont", "alcl914c2672"), ("rx", "-22.5")):
        resp = await client.post("/api/v1/tickets/FF000001/readings",
                                 json={"kind": kind, "value": value}, headers=tech)
        assert resp.status == 200
    body = await resp.json()
    assert body["ont_serial"] == "ALCL914C2672" and body["ont_rx_level_dbm"] == -22.5
    resp = await client.post("/api/v1/tickets/FF000001/fault-cause",
                             json={"cause": "workmanship", "details": "loose"}, headers=tech)
    assert (await resp.json())["fault_cause"] == "workmanship"
    resp = await client.post("/api/v1/tickets/FF000001/notes", json={"text": "ladder"},
                             headers=tech)
    assert resp.status == 200
    resp = await client.post("/api/v1/tickets/FF000001/readiness", headers=tech)
    readiness = (await resp.json())["readiness"]
    assert readiness["passed"] is False
    assert {c["check"] for c in readiness["checks"] if not c["passed"]} >= {"photos_exist"}
    resp = await client.post("/api/v1/tickets/FF000001/status", json={"status": "pending_qa"},
                             headers=tech)
    assert (await resp.json())["status"] == "in_progress"  # not ready: nothing moved
    resp = await client.post("/api/v1/tickets/FF000001/risks", headers=tech, json={
        "risk_type": "pending_material", "expires_on": "2026-12-15",
        "description": "closure on order"})
    assert resp.status == 200
    risk_id = (await resp.json())["risk_id"]
    resp = await client.post(f"/api/v1/risks/{risk_id}/decision", json={"approve": True},
                             headers=sup)
    assert resp.status == 403
    mgr = await auth(container, people.manager)
    resp = await client.post(f"/api/v1/risks/{risk_id}/decision", json={"approve": True},
                             headers=mgr)
    assert resp.status == 200 and (await resp.json())["status"] == "active"
    resp = await client.patch("/api/v1/tickets/FF000001", json={"priority": "P1"}, headers=sup)
    assert (await resp.json())["priority"] == "critical"
    audit = await (await client.get("/api/v1/tickets/FF000001/audit", headers=sup)).json()
    actions = [e["action"] for e in audit["items"]]
    for expected in ("created", "assigned", "status_changed", "reading_recorded",
                     "fault_cause_set", "note_added", "qa_check_run", "risk_requested",
                     "risk_decided", "priority_changed"):
        assert expected in actions, expected
    assert all(e["channel"] == "api" for e in audit["items"])


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/v1/tickets", {"dr_number": "DR12"}, 422),
        ("/api/v1/tickets", {"priority": "whenever"}, 422),
        ("/api/v1/tickets", {"unknown": 1}, 422),
        ("/api/v1/tickets", [], 422),
        ("/api/v1/tickets/FF999999/notes", {"text": "x"}, 404),
        ("/api/v1/risks/abc/decision", {"approve": True}, 422),
    ],
)
async def test_bad_writes_get_clear_json_errors(client: TestClient, container: Container,
                                                people: People, path: str, body: object,
                                                status: int) -> None:
    sup = await auth(container, people.supervisor)
    resp = await client.post(path, json=body, headers=sup)
    assert resp.status == status, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] and error["message"]


async def test_import_upload_report_and_exports(client: TestClient, container: Container,
                                                people: People) -> None:
    sup = await auth(container, people.supervisor)

    async def upload(content: bytes, name: str, query: str = "") -> aiohttp.ClientResponse:
        form = aiohttp.FormData()
        form.add_field("file", content, filename=name)
        return await client.post(f"/api/v1/imports/weekly{query}", data=form, headers=sup)

    dry = await upload(W47.read_bytes(), "w47.xlsx", "?dry_run=true")
    assert dry.status == 200 and (await dry.json())["created"] == 96
    assert (await (await client.get("/api/v1/tickets", headers=sup)).json())["total"] == 0
    first = await upload(W47.read_bytes(), "w47.xlsx")
    report = await first.json()
    assert first.status == 201
    assert (report["report_uid"], report["created"], report["error_count"]) == (
        "WR2026-W47", 96, 4)
    assert {(e["row"], e["column"]) for e in report["errors"]} == {
        (100, "DR Number"), (101, "DR Number"), (102, "Priority"), (103, "Status")}
    stored = await (await client.get(f"/api/v1/imports/{report['uid']}", headers=sup)).json()
    assert stored["created"] == 96 and len(stored["errors"]) == 4
    again = await (await upload(W47.read_bytes(), "w47.xlsx")).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 96)

    xlsx = await client.get("/api/v1/exports/tickets.xlsx", headers=sup)
    assert xlsx.status == 200
    content = await xlsx.read()
    back = await (await upload(content, "export.xlsx")).json()
    assert back["created"] == 0 and back["updated"] == 0 and back["error_count"] == 0
    csv = await client.get("/api/v1/exports/tickets.csv?status=closed", headers=sup)
    text = await csv.text()
    assert text.splitlines()[0].startswith("Ref,FT Ref,DR Number")
    assert all(",closed," in line for line in text.splitlines()[1:])

    bad = await upload(b"not a workbook", "x.xlsx")
    assert bad.status == 422 and "not an .xlsx workbook" in (await bad.json())["error"]["message"]
    tech = await auth(container, people.tech)
    form = aiohttp.FormData()
    form.add_field("file", W47.read_bytes(), filename="w47.xlsx")
    assert (await client.post("/api/v1/imports/weekly", data=form, headers=tech)).status == 403


def test_sample_is_where_the_tests_expect_it() -> None:
    assert Path(W47).exists()
