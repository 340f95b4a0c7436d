"""The ticket use cases against real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.bootstrap import Container
from domain.enums import Channel, HoldReason, Priority, Source, Status, TimerState
from domain.errors import Conflict, NotFound, PermissionDenied
from domain.model import TicketHold
from domain.services import tickets as svc
from domain.services.views import ticket_json
from storage import tables as t
from tests.conftest import Clock
from tests.seed import People


async def create(container: Container, people: People, who: str = "tech", **kw):
    async with container.uow() as uow:
        new = svc.NewTicket(**{"dr_number": "DR1769155", "description": "no light on ONT",
                               "source": Source.WHATSAPP, **kw})
        created = await svc.create_ticket(uow, container.context(), people.actor(who), new)
        await uow.commit()
        return created


async def audit_actions(container: Container, ticket_id: int) -> list[str]:
    async with container.uow() as uow:
        rows = await uow.session.execute(
            select(t.audit_events.c.action).where(t.audit_events.c.ticket_id == ticket_id)
            .order_by(t.audit_events.c.id))
        return [r[0].value for r in rows]


async def outbox(container: Container) -> list[dict]:
    async with container.uow() as uow:
        rows = await uow.session.execute(select(t.outbox).order_by(t.outbox.c.id))
        return [dict(r) for r in rows.mappings()]


async def test_a_technicians_fault_is_filled_from_the_register_and_assigned(
    container: Container, people: People
) -> None:
    created = await create(container, people)
    ticket = created.ticket
    assert ticket.ref == "FF000001"
    assert (ticket.pole_number, ticket.pon_number, ticket.zone) == (
        "LAW.P.F280", "LAW-PON-01", "Z08")
    assert ticket.address == "5884 Kiepersol Street, Lawley"
    assert ticket.dr_known and created.warnings == []
    assert ticket.status is Status.ASSIGNED and ticket.assignee_id == people.tech.id
    assert ticket.contractor_id == people.tech.contractor_id
    assert ticket.project_id is not None
    assert await audit_actions(container, ticket.id) == ["created", "assigned"]
    # the technician assigned themself: nobody else needs telling
    assert await outbox(container) == []


async def test_an_unknown_dr_is_accepted_and_flagged(container: Container, people: People
                                                     ) -> None:
    created = await create(container, people, dr_number="DR9999999")
    assert not created.ticket.dr_known
    assert created.ticket.pole_number is None
    assert "not in the DR register" in created.warnings[0]


async def test_a_supervisors_ticket_starts_open_and_assignment_notifies(
    container: Container, people: People
) -> None:
    created = await create(container, people, who="supervisor", priority=Priority.HIGH)
    assert created.ticket.status is Status.OPEN
    async with container.uow() as uow:
        ticket = await svc.find(uow, "ff1")
        await svc.assign(uow, container.context(), people.actor("supervisor", Channel.SLACK),
                         ticket, people.tech.id)
        await uow.commit()
    assert ticket.status is Status.ASSIGNED
    sent = await outbox(container)
    assert [(m["channel"], m["address"], m["template"]) for m in sent] == [
        ("whatsapp", "27825550101@c.us", "ticket_assigned")]
    assert "FF000001" in sent[0]["text"]


async def test_contractors_assign_only_within_their_company(container: Container,
                                                            people: People) -> None:
    await create(container, people, who="supervisor")
    async with container.uow() as uow:
        ticket = await svc.find(uow, "FF000001")
        with pytest.raises(PermissionDenied):
            await svc.assign(uow, container.context(), people.actor("contractor"), ticket,
                             people.tech2.id)


async def test_refused_moves_name_the_guard(container: Container, people: People) -> None:
    await create(container, people, who="supervisor")
    async with container.uow() as uow:
        ticket = await svc.find(uow, "FF000001")
        with pytest.raises(Conflict, match="cannot go from open to in_progress"):
            await svc.change_status(uow, container.context(), people.actor("supervisor"),
                                    ticket, Status.IN_PROGRESS)


async def test_sla_clock_response_met_hold_pauses(container: Container, people: People,
                                                  clock: Clock) -> None:
    created = await create(container, people, priority=Priority.CRITICAL)
    ref = created.ticket.ref
    clock.advance(minutes=10)
    async with container.uow() as uow:
        ticket = await svc.find(uow, ref)
        await svc.change_status(uow, container.context(), people.actor("tech"), ticket,
                                Status.IN_PROGRESS)
        await uow.commit()
    assert ticket.first_response_at == clock.now
    clock.advance(minutes=20)
    async with container.uow() as uow:
        ticket = await svc.find(uow, ref)
        await svc.change_status(uow, container.context(), people.actor("tech"), ticket,
                                Status.ON_HOLD, hold_reason=HoldReason.AWAITING_PARTS)
        await uow.commit()
        view = await ticket_json(uow, container.context(), ticket)
    assert view["sla"]["response"]["state"] == TimerState.MET.value
    assert view["sla"]["resolution"]["state"] == TimerState.PAUSED.value
    due_before = datetime.fromisoformat(view["sla"]["resolution"]["due_at"])
    clock.advance(hours=3)
    async with container.uow() as uow:
        ticket = await svc.find(uow, ref)
        await svc.change_status(uow, container.context(), people.actor("tech"), ticket,
                                Status.IN_PROGRESS)
        await uow.commit()
        view = await ticket_json(uow, container.context(), ticket)
    # three hours on hold push the six-hour resolution deadline three hours out
    due_after = datetime.fromisoformat(view["sla"]["resolution"]["due_at"])
    assert (due_after - due_before).total_seconds() == pytest.approx(3 * 3600, abs=1)
    assert ticket.resolution_due_at == due_after.astimezone(UTC)
    assert view["sla"]["resolution"]["state"] == TimerState.ON_TRACK.value


async def test_technicians_cannot_see_others_tickets(container: Container, people: People
                                                     ) -> None:
    await create(container, people, who="tech")
    async with container.uow() as uow:
        with pytest.raises(NotFound):
            await svc.find_visible(uow, people.actor("tech2"), "FF000001")
        found = await svc.find_visible(uow, people.actor("qa"), "ff-1")
        assert found.ref == "FF000001"


async def test_external_refs_find_tickets(container: Container, people: People) -> None:
    await create(container, people, external_ref="ft406824")
    async with container.uow() as uow:
        assert (await svc.find(uow, "FT406824")).ref == "FF000001"


async def test_priority_change_restarts_the_policy_from_the_same_start(
    container: Container, people: People
) -> None:
    created = await create(container, people, who="supervisor")
    normal_due = created.ticket.response_due_at
    async with container.uow() as uow:
        ticket = await svc.find(uow, "FF000001")
        await svc.set_priority(uow, container.context(), people.actor("supervisor"), ticket,
                               Priority.CRITICAL)
        await uow.commit()
    assert ticket.sla_policy["response_minutes"] == 30
    assert ticket.response_due_at < normal_due
    assert "priority_changed" in await audit_actions(container, ticket.id)


async def test_notes_and_reopen(container: Container, people: People, clock: Clock) -> None:
    await create(container, people, who="supervisor")
    async with container.uow() as uow:
        ticket = await svc.find(uow, "FF000001")
        await svc.add_note(uow, container.context(), people.actor("supervisor"), ticket,
                           "waiting for ladder")
        await svc.change_status(uow, container.context(), people.actor("supervisor"), ticket,
                                Status.CANCELLED, reason="duplicate")
        await uow.commit()
    async with container.uow() as uow:
        ticket = await svc.find(uow, "FF000001")
        with pytest.raises(Conflict):
            await svc.reopen(uow, container.context(), people.actor("supervisor"), ticket, "x")
    actions = await audit_actions(container, ticket.id)
    assert actions[-2:] == ["note_added", "status_changed"]


async def test_fifty_concurrent_creations_get_fifty_refs(container: Container,
                                                         people: People) -> None:
    async def one(n: int) -> str:
        async with container.uow() as uow:
            created = await svc.create_ticket(
                uow, container.context(), people.actor("supervisor"),
                svc.NewTicket(dr_number="DR1769155", description=f"fault {n}"))
            await uow.commit()
            return created.ticket.ref

    refs = await asyncio.gather(*(one(n) for n in range(50)))
    assert len(set(refs)) == 50
    assert all(r.startswith("FF") and len(r) == 8 for r in refs)


async def test_holds_read_ahead_stay_current_through_a_savepoint(
    container: Container, people: People
) -> None:
    """An import reads many tickets' holds at once (load_holds); a hold added afterwards is
    seen, and one added under a savepoint that rolls back is not."""
    ticket = (await create(container, people)).ticket
    start = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    async with container.uow() as uow:
        await uow.tickets.load_holds([ticket.id])
        assert await uow.tickets.holds(ticket.id) == []
        await uow.tickets.add_hold(TicketHold(ticket.id, start, HoldReason.AWAITING_CUSTOMER,
                                              Status.ASSIGNED, ended_at=start))
        savepoint = await uow.savepoint()
        await uow.tickets.add_hold(TicketHold(ticket.id, start.replace(hour=8),
                                              HoldReason.AWAITING_CUSTOMER, Status.ASSIGNED))
        assert len(await uow.tickets.holds(ticket.id)) == 2
        await savepoint.rollback()
        kept = await uow.tickets.holds(ticket.id)
        assert [(h.started_at, h.ended_at) for h in kept] == [(start, start)]
        await uow.commit()
    async with container.uow() as uow:
        assert [h.started_at for h in await uow.tickets.holds(ticket.id)] == [start]


async def test_qa_takes_work_in_and_hands_it_back(container: Container, people: People) -> None:
    """SPEC 3.10: QA makes the build_to_qa handover (its gate is the readiness check, not
    field work) and may move a ticket under inspection back to pending_qa."""
    from domain.enums import HandoverType
    from domain.services import qa as qa_service

    ticket = (await create(container, people)).ticket
    async with container.uow() as uow:
        ticket = await uow.tickets.by_ref(ticket.ref)
        ticket.status = Status.IN_PROGRESS
        await uow.commit()
    async with container.uow() as uow:
        ticket = await uow.tickets.by_ref(ticket.ref)
        with pytest.raises(Conflict, match="not ready for QA"):  # refused by the gate only
            await qa_service.handover(uow, container.context(), people.actor("qa"), ticket,
                                      HandoverType.BUILD_TO_QA)
    async with container.uow() as uow:
        ticket = await uow.tickets.by_ref(ticket.ref)
        ticket.status = Status.QA_IN_PROGRESS
        await uow.commit()
    async with container.uow() as uow:
        ticket = await uow.tickets.by_ref(ticket.ref)
        with pytest.raises(PermissionDenied):
            await svc.change_status(uow, container.context(), people.actor("tech2"), ticket,
                                    Status.PENDING_QA)
        # QA may; the way back still passes the readiness guard like any move to pending_qa
        with pytest.raises(Conflict, match="readiness check"):
            await svc.change_status(uow, container.context(), people.actor("qa"), ticket,
                                    Status.PENDING_QA)
