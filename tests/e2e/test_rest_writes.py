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

    # a technician cannot assign it to someone else (not even see it: 404, as for a ticket
    # that does not exist); the supervisor can assign anyone
    resp = await client.post("/api/v1/tickets/FF000001/assign", json={"assignee": "0825550102"},
                             headers=tech)
    assert resp.status in (403, 404), await resp.text()
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
    # not ready: refused like any other guard, with the check that failed; nothing moved
    assert resp.status == 409, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "conflict" and "photos_exist" in error["message"]
    assert any(c["check"] == "photos_exist" and not c["passed"]
               for c in error["details"]["readiness"])
    resp = await client.get("/api/v1/tickets/FF000001", headers=tech)
    assert (await resp.json())["status"] == "in_progress"
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
    # the condition dealt with: resolved with notes, once
    resp = await client.post(f"/api/v1/risks/{risk_id}/resolve", json={"notes": ""},
                             headers=tech)
    assert resp.status == 422
    resp = await client.post(f"/api/v1/risks/{risk_id}/resolve",
                             json={"notes": "closure fitted"}, headers=tech)
    assert resp.status == 200 and (await resp.json())["status"] == "resolved"
    resp = await client.post(f"/api/v1/risks/{risk_id}/resolve",
                             json={"notes": "again"}, headers=tech)
    assert resp.status == 409
    risks = await (await client.get("/api/v1/tickets/FF000001/risks", headers=sup)).json()
    assert [(r["status"], r["resolution_notes"]) for r in risks["items"]] == [
        ("resolved", "closure fitted")]
    resp = await client.post("/api/v1/tickets/FF000001/ack", headers=tech)
    assert resp.status == 200 and (await resp.json())["acknowledged"] is False  # started: met
    resp = await client.post("/api/v1/tickets/FF000001/escalate", json={"reason": "slow"},
                             headers=tech)
    assert resp.status == 403
    resp = await client.post("/api/v1/tickets/FF000001/escalate", json={"reason": "slow"},
                             headers=sup)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["escalated_to"]
    resp = await client.patch("/api/v1/tickets/FF000001", json={"priority": "P1"}, headers=sup)
    assert (await resp.json())["priority"] == "critical"
    audit = await (await client.get("/api/v1/tickets/FF000001/audit", headers=sup)).json()
    actions = [e["action"] for e in audit["items"]]
    for expected in ("created", "assigned", "status_changed", "reading_recorded",
                     "fault_cause_set", "note_added", "qa_check_run", "risk_requested",
                     "risk_decided", "risk_resolved", "priority_changed"):
        assert expected in actions, expected
    # everything people did came through the API; the escalation's breach is the SLA engine's
    assert {e["channel"] for e in audit["items"] if e["actor"]} == {"api"}, audit["items"]


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
    by_week = await client.get("/api/v1/imports/WR2026-W47", headers=sup)  # the week's latest
    assert by_week.status == 200 and (await by_week.json())["uid"] == report["uid"]
    assert (await client.get("/api/v1/imports/WR2026-W01", headers=sup)).status == 404
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
    refused = await client.post("/api/v1/imports/weekly", data=form, headers=tech)
    assert refused.status == 403
    assert (await refused.json())["error"]["message"] == (
        "A technician may not import weekly reports.")


def test_sample_is_where_the_tests_expect_it() -> None:
    assert Path(W47).exists()


async def test_exports_take_the_lists_filters(client: TestClient, container: Container,
                                              people: People) -> None:
    """Every filter of GET /api/v1/tickets selects the same tickets in both exports, and a
    value the list refuses is refused by the exports too."""
    import csv
    import io

    sup = await auth(container, people.supervisor)
    form = aiohttp.FormData()
    form.add_field("file", W47.read_bytes(), filename="w47.xlsx")
    assert (await client.post("/api/v1/imports/weekly", data=form, headers=sup)).status == 201
    listed = (await (await client.get("/api/v1/tickets?limit=200", headers=sup)).json())["items"]
    # work that moved on outside the system starts with the clocks it passed met
    passed = [t for t in listed if t["status"] in ("pending_qa", "qa_approved", "closed")]
    assert passed and all(t["sla"][k]["state"] == "met" for t in passed
                          for k in ("response", "resolution"))
    first = listed[0]
    filters = {
        "status": "closed,open", "priority": "high", "zone": first["zone"],
        "dr": first["dr_number"], "pole": first["pole_number"], "pon": first["pon_number"],
        "contractor": "Velocity Build", "project": "Lawley", "assignee": "none",
        "sla": "breached", "q": first["title"].split()[0],
    }
    totals = {}
    for name, value in filters.items():
        params = {name: value, "limit": "200"}
        page = await (await client.get("/api/v1/tickets", params=params, headers=sup)).json()
        wanted = sorted(t["ref"] for t in page["items"])
        resp = await client.get("/api/v1/exports/tickets.csv", params=params, headers=sup)
        assert resp.status == 200, (name, await resp.text())
        rows = list(csv.DictReader(io.StringIO(await resp.text())))
        assert sorted(r["Ref"] for r in rows) == wanted, name
        assert page["total"] == len(wanted) <= 200
        totals[name] = len(wanted)
    # each filter really narrows the list (the import assigned nobody: 'none' is everyone)
    assert all(0 < n < len(listed) for name, n in totals.items() if name != "assignee"), totals
    for name, value in (("priority", "whenever"), ("sla", "met"), ("status", "exploded")):
        for path in ("/api/v1/tickets", "/api/v1/exports/tickets.csv",
                     "/api/v1/exports/tickets.xlsx"):
            resp = await client.get(path, params={name: value}, headers=sup)
            assert resp.status == 422, (path, name)
            error = (await resp.json())["error"]
            assert error["details"] == {"parameter": name} and value in error["message"]


async def test_a_technician_takes_an_open_ticket_over_rest(client: TestClient,
                                                           container: Container,
                                                           people: People) -> None:
    sup = await auth(container, people.supervisor)
    tech = await auth(container, people.tech)
    resp = await client.post("/api/v1/tickets", json={"dr_number": "DR1769155",
                                                      "description": "no light"}, headers=sup)
    assert resp.status == 201 and (await resp.json())["status"] == "open"
    # of no contractor: assigned by a supervisor, not taken
    resp = await client.post("/api/v1/tickets/FF000001/assign", json={"assignee": "0825550101"},
                             headers=tech)
    assert resp.status == 404
    async with container.uow() as uow:  # now work of the technician's company
        (await uow.tickets.by_ref("FF000001")).contractor_id = people.tech.contractor_id
        await uow.commit()
    assert (await client.get("/api/v1/tickets/FF000001", headers=tech)).status == 404
    resp = await client.post("/api/v1/tickets/FF000001/assign", json={"assignee": "0825550101"},
                             headers=tech)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["status"] == "assigned" and body["assignee"]["phone"] == "27825550101"
    assert (await client.get("/api/v1/tickets/FF000001", headers=tech)).status == 200
    again = await client.post("/api/v1/tickets/FF000001/assign",
                              json={"assignee": "0825550101"}, headers=tech)
    assert again.status == 409
    assert (await again.json())["error"]["message"] == "FF000001 is already yours."


async def test_a_supervisor_reopens_a_closed_ticket_over_rest(client: TestClient,
                                                               container: Container,
                                                               people: People) -> None:
    from domain.enums import Status

    sup = await auth(container, people.supervisor)
    tech = await auth(container, people.tech)
    resp = await client.post("/api/v1/tickets", json={"dr_number": "DR1769155",
                                                      "description": "no light"}, headers=tech)
    assert resp.status == 201
    async with container.uow() as uow:  # closed a day ago (the way there is tested elsewhere)
        ticket = await uow.tickets.by_ref("FF000001")
        ticket.status, ticket.closed_at = Status.CLOSED, container.clock()
        await uow.commit()
    resp = await client.post("/api/v1/tickets/FF000001/status",
                             json={"status": "assigned", "reason": "came back"}, headers=tech)
    assert resp.status == 403
    resp = await client.post("/api/v1/tickets/FF000001/status",
                             json={"status": "assigned", "reason": "came back"}, headers=sup)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["status"] == "assigned" and body["assignee"]["phone"] == "27825550101"
    audit = await (await client.get("/api/v1/tickets/FF000001/audit", headers=sup)).json()
    assert audit["items"][-1]["action"] == "reopened"
