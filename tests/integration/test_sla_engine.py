"""The SLA sweep with a controllable clock: each announcement once, in order, on both engines."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.bootstrap import Container, build
from domain.context import Actor
from domain.enums import Channel, HoldReason, Priority, Status
from domain.services import tickets as svc
from domain.services.sla_engine import sweep
from storage import tables as t
from tests.conftest import Clock, make_settings
from tests.seed import People, seed_people

JHB = ZoneInfo("Africa/Johannesburg")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def sla(database_url: str, tmp_path: Path, clock: Clock):
    settings = make_settings(database_url, tmp_path, slack_sla_channel="C0SLA",
                             slack_ops_channel="C0OPS")
    container = build(settings, clock=clock)
    people = await seed_people(container)
    yield container, people, clock
    await container.close()


async def new_ticket(container: Container, people: People, priority: Priority,
                     assignee=None) -> str:
    async with container.uow() as uow:
        created = await svc.create_ticket(uow, container.context(), people.actor("supervisor"),
                                          svc.NewTicket(dr_number="DR1769155",
                                                        description="no light",
                                                        priority=priority,
                                                        assignee_id=assignee))
        await uow.commit()
    return created.ticket.ref


async def run(container: Container, clock: Clock, **advance: float) -> list[str]:
    if advance:
        clock.advance(**advance)
    return (await sweep(container.uow, container.context())).announcements


async def messages(container: Container) -> list[dict]:
    async with container.uow() as uow:
        rows = await uow.session.execute(select(t.outbox).order_by(t.outbox.c.id))
        return [dict(r) for r in rows.mappings()]


async def test_a_critical_tickets_timeline(sla) -> None:
    container, people, clock = sla
    await new_ticket(container, people, Priority.CRITICAL, people.tech.id)
    before = len(await messages(container))  # the assignment notice
    assert await run(container, clock) == []
    assert await run(container, clock, minutes=23) == []
    warned = await run(container, clock, minutes=1.5)
    assert len(warned) == 1 and "response is 80 % used" in warned[0]
    assert await run(container, clock) == []
    breached = await run(container, clock, minutes=6)
    assert len(breached) == 1 and "response breached" in breached[0]
    assert "Escalated to supervisor" in breached[0]
    level2 = await run(container, clock, minutes=30)
    assert "escalation level 2" in level2[0] and "Escalated to manager" in level2[0]
    level3 = await run(container, clock, minutes=30)
    assert "escalation level 3" in level3[0] and "Escalated to admin" in level3[0]
    assert await run(container, clock, minutes=5) == []
    assert await run(container, clock) == []

    sent = (await messages(container))[before:]
    sla_channel = [m for m in sent if m["address"] == "C0SLA"]
    card = next(m for m in sla_channel if m["template"] == "sla_breach")
    assert [e["action_id"] for e in card["blocks"][-1]["elements"]] == ["sla_ack", "ticket_take"]
    assert [e["value"] for e in card["blocks"][-1]["elements"]] == ["FF000001", "FF000001"]
    threads = [m for m in sla_channel if m["thread_of"] == card["id"]]
    updates = [m for m in sla_channel if m["update_of"] == card["id"]]
    assert len(threads) == 2 and len(updates) == 2
    dms = {m["address"] for m in sent if m["address"] != "C0SLA"}
    assert dms == {"27825550101@c.us", "27825550106@c.us", "27825550107@c.us", "U0ADM00001"}
    warning = next(m for m in sent if m["template"] == "sla_warning" and m["channel"] == "whatsapp")
    assert warning["address"] == "27825550101@c.us"


async def test_a_sweep_that_was_down_catches_up_with_one_message(sla) -> None:
    container, people, clock = sla
    await new_ticket(container, people, Priority.CRITICAL, people.tech.id)
    before = len(await messages(container))
    announced = await run(container, clock, minutes=100)
    assert len(announced) == 1 and "escalation level 3" in announced[0]
    sent = (await messages(container))[before:]
    assert [m["address"] for m in sent] == ["C0SLA", "U0ADM00001"]
    assert await run(container, clock, minutes=1) == []
    async with container.uow() as uow:
        recorded = (await uow.session.execute(select(t.sla_announcements.c.kind,
                                                     t.sla_announcements.c.level))).all()
    assert sorted(recorded) == [("breach", 1), ("escalation", 2), ("escalation", 3),
                                ("near_breach", 0)]


async def test_business_hours_skip_the_weekend_and_holidays(sla) -> None:
    container, people, clock = sla
    clock.now = datetime(2026, 4, 24, 16, 0, tzinfo=JHB)  # Friday before Freedom Day
    await new_ticket(container, people, Priority.NORMAL, people.tech.id)
    clock.now = datetime(2026, 4, 27, 15, 0, tzinfo=JHB)  # Freedom Day (Monday)
    assert await run(container, clock) == []
    # 80 % of 8 h = 384 min: 60 on Friday, 324 on Tuesday -> 13:24
    clock.now = datetime(2026, 4, 28, 13, 20, tzinfo=JHB)
    assert await run(container, clock) == []
    clock.now = datetime(2026, 4, 28, 13, 25, tzinfo=JHB)
    assert "80 % used" in (await run(container, clock))[0]
    clock.now = datetime(2026, 4, 28, 15, 1, tzinfo=JHB)
    assert "response breached" in (await run(container, clock))[0]


async def test_hold_pauses_the_clock(sla) -> None:
    container, people, clock = sla
    ref = await new_ticket(container, people, Priority.CRITICAL, people.tech.id)
    clock.advance(minutes=5)
    async with container.uow() as uow:
        ticket = await svc.find(uow, ref)
        await svc.change_status(uow, container.context(), people.actor("tech"), ticket,
                                Status.IN_PROGRESS)
        await svc.change_status(uow, container.context(), people.actor("tech"), ticket,
                                Status.ON_HOLD, hold_reason=HoldReason.WEATHER)
        await uow.commit()
    assert await run(container, clock, hours=8) == []
    async with container.uow() as uow:
        ticket = await svc.find(uow, ref)
        await svc.change_status(uow, container.context(), people.actor("tech"), ticket,
                                Status.IN_PROGRESS)
        await uow.commit()
    assert await run(container, clock) == []
    # 5 of the 360 resolution minutes were used before the hold: 80 % comes 283 min later
    assert await run(container, clock, minutes=282) == []
    assert "resolution is 80 % used" in (await run(container, clock, minutes=2))[0]


async def test_escalate_now_and_acknowledge(sla) -> None:
    container, people, clock = sla
    ref = await new_ticket(container, people, Priority.NORMAL, people.tech.id)
    from domain.services.sla_engine import acknowledge_alert, escalate_now

    async with container.uow() as uow:
        ticket = await svc.find(uow, ref)
        role = await escalate_now(uow, container.context(), people.actor("supervisor"), ticket,
                                  "customer is a hospital")
        await uow.commit()
    assert role == "supervisor"
    async with container.uow() as uow:  # said as what it is: not a breach, not yet
        texts = [r[0] for r in await uow.session.execute(select(t.outbox.c.text))]
    assert any(f"{ref} (normal) response escalated before its deadline: due" in x
               and "Reason: customer is a hospital" in x for x in texts), texts
    assert not any("breached" in x for x in texts)
    async with container.uow() as uow:  # recorded as the supervisor's escalation
        rows = (await uow.session.execute(
            select(t.audit_events.c.action, t.audit_events.c.actor_id,
                   t.audit_events.c.channel).where(t.audit_events.c.action.in_(
                       ["sla_breached", "escalated"])))).all()
    assert [(r[0].value, r[1], r[2].value) for r in rows] == [
        ("escalated", people.supervisor.id, "whatsapp")]
    async with container.uow() as uow:
        ticket = await svc.find(uow, ref)
        assert await escalate_now(uow, container.context(), people.actor("supervisor"),
                                  ticket, None) == "manager"
        await uow.commit()
    async with container.uow() as uow:
        ticket = await svc.find(uow, ref)
        note = await acknowledge_alert(uow, container.context(),
                                       Actor(people.supervisor, Channel.SLACK), ticket)
        await uow.commit()
    assert note.startswith("Acknowledged by Johan Botha")
    assert ticket.first_response_at == clock.now
    # the response timer is met now, and the sweep has nothing left to say about it
    announced = await run(container, clock, hours=9)
    assert all("response" not in a for a in announced)


@pytest.mark.postgres
async def test_three_sweeps_at_once_announce_each_thing_once(postgres_url: str, tmp_path: Path,
                                                              clock: Clock) -> None:
    container = build(make_settings(postgres_url, tmp_path, slack_sla_channel="C0SLA"),
                      clock=clock)
    people = await seed_people(container)
    for _ in range(30):
        await new_ticket(container, people, Priority.CRITICAL, people.tech.id)
    at = (clock.now + timedelta(minutes=65)).isoformat()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKETBOT_", "SLACK_"))}
    env.update({"PYTHONPATH": str(ROOT), "TICKETBOT_DATABASE_URL": postgres_url,
                "TICKETBOT_SLACK_SLA_CHANNEL": "C0SLA"})
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sla", "sweep", "--at", at, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [await p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    async with container.uow() as uow:
        rows = (await uow.session.execute(select(t.outbox.c.ticket_id, t.outbox.c.address,
                                                 t.outbox.c.text, t.outbox.c.template))).all()
        keys = (await uow.session.execute(select(t.sla_announcements.c.ticket_id))).all()
    sla_rows = [r for r in rows if r.template != "ticket_assigned"]
    assert len(sla_rows) == len({(r.ticket_id, r.address, r.text) for r in sla_rows})
    # each ticket: one card in the channel (escalation level 2) and the managers' DM
    cards = [r for r in sla_rows if r.address == "C0SLA"]
    assert len(cards) == 30
    assert len(keys) == 30 * 3  # near breach, breach, level 2 recorded per ticket
    total = sum(int(out.decode().split("announcement")[0].split(",")[-1]) for out, _ in outputs)
    assert total == 30
    await container.close()
