"""Repeat faults, risk expiry and the daily digest, against real databases."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from domain.enums import Priority, RiskType
from domain.services import tickets as svc
from domain.services import work
from domain.services.digest import post_digest
from domain.services.risks import expiry_run
from storage import tables as t
from tests.integration.test_sla_engine import messages, new_ticket, sla  # noqa: F401


async def test_repeat_faults_escalate_once_per_open_scope(sla) -> None:  # noqa: F811
    container, people, _clock = sla
    await new_ticket(container, people, Priority.NORMAL, people.tech.id)
    second = await new_ticket(container, people, Priority.NORMAL, people.tech.id)
    await new_ticket(container, people, Priority.NORMAL, people.tech.id)
    async with container.uow() as uow:
        infra = (await uow.session.execute(
            select(t.tickets.c.ref, t.tickets.c.title, t.tickets.c.priority,
                   t.tickets.c.is_infrastructure).where(t.tickets.c.is_infrastructure))).all()
        escalations = (await uow.session.execute(
            select(t.escalations.c.scope_type, t.escalations.c.scope_value,
                   t.escalations.c.fault_count))).all()
    # DR threshold 2 is reached by the second ticket, pole (3) by the third
    assert sorted((e[0], e[2]) for e in escalations) == [("dr", 2), ("pole", 3)]
    assert len(infra) == 2 and all(r.priority.value == "high" for r in infra)
    assert any(r.title == "DR investigation: DR1769155" for r in infra)
    assert second == "FF000002"
    sent = await messages(container)
    ops = [m for m in sent if m["address"] == "C0OPS"]
    assert len(ops) == 2 and "Repeat faults on dr DR1769155: 2 in 30 days" in ops[0]["text"]
    contractor = [m for m in sent if m["template"] == "escalation_created"
                  and m["channel"] == "whatsapp"]
    assert {m["address"] for m in contractor} == {"27825550104@c.us"}


async def test_risk_reminders_expiry_and_escalation(sla) -> None:  # noqa: F811
    container, people, clock = sla
    ref = await new_ticket(container, people, Priority.NORMAL, people.tech.id)
    async with container.uow() as uow:
        ticket = await svc.find(uow, ref)
        risk = await work.request_risk(uow, container.context(), people.actor("tech"), ticket,
                                       RiskType.PENDING_MATERIAL, date(2026, 11, 20),
                                       "closure on order")
        risk.status = "active"
        await uow.commit()
    assert await expiry_run(container.uow, container.context()) == 1
    assert await expiry_run(container.uow, container.context()) == 0  # once a day
    clock.advance(days=1)
    assert await expiry_run(container.uow, container.context()) == 1
    clock.advance(days=3)  # 21 November: past expiry
    await expiry_run(container.uow, container.context())
    async with container.uow() as uow:
        status = (await uow.session.execute(select(t.risk_acceptances.c.status))).scalar()
        actions = [r[0].value for r in (await uow.session.execute(
            select(t.audit_events.c.action).order_by(t.audit_events.c.id))).all()]
    assert status == "escalated"
    assert "risk_expired" in actions and actions[-1] == "escalated"
    sent = await messages(container)
    assert any(m["address"] == "C0OPS" and "is escalated" in m["text"] for m in sent)
    assert sum(m["template"] == "risk_expiring" for m in sent) == 2


async def test_daily_digest_once_a_day(sla) -> None:  # noqa: F811
    container, people, clock = sla
    await new_ticket(container, people, Priority.CRITICAL, people.tech.id)
    clock.advance(hours=1)
    assert await post_digest(container.uow, container.context()) == 1
    assert await post_digest(container.uow, container.context()) == 0
    digest = [m for m in await messages(container) if m["template"] == "daily_digest"]
    assert len(digest) == 1
    text = digest[0]["text"]
    assert "1 open tickets" in text and "critical 1" in text and "Breached: 1" in text
    clock.advance(days=1)
    assert await post_digest(container.uow, container.context()) == 1
