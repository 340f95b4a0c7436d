"""Ticket use cases shared by every door: create, find, assign, move, prioritise, annotate."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from domain import permissions, refs
from domain.billing import apply_billing
from domain.calendar import BusinessCalendar
from domain.context import Actor, Context
from domain.enums import (
    CLOSED_STATUSES,
    AuditAction,
    FaultCause,
    HoldReason,
    Priority,
    Role,
    Source,
    Status,
    TicketType,
)
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.model import (
    Contractor,
    DrRecord,
    Note,
    Project,
    Ticket,
    TicketHold,
    TicketRecord,
    User,
    VerificationStep,
)
from domain.notify import notify_user
from domain.permissions import Action
from domain.ports import UnitOfWork
from domain.services.audit import record
from domain.sla import Hold, SlaPolicy, due_times
from domain.verification import steps_for_ticket
from domain.workflow import (
    FORWARD_ORDER,
    GuardContext,
    check_reopen,
    check_transition,
    reopen_target,
)

S = Status
T = TypeVar("T", bound=TicketRecord)
log = logging.getLogger("ticketbot.tickets")


@dataclass
class NewTicket:
    """Everything a door may supply when logging a ticket; the register fills the rest."""

    title: str | None = None
    description: str | None = None
    dr_number: str | None = None
    priority: Priority = Priority.NORMAL
    ticket_type: TicketType = TicketType.MAINTENANCE
    source: Source = Source.API
    external_ref: str | None = None
    assignee_id: int | None = None
    status: Status | None = None  # imports start where the reported work stands
    pole_number: str | None = None
    pon_number: str | None = None
    zone: str | None = None
    project: str | None = None
    address: str | None = None
    contractor: str | None = None
    created_at: datetime | None = None
    infrastructure_of: int | None = None  # the repeat-fault escalation that asked for it
    fault_cause: FaultCause | None = None
    fault_cause_details: str | None = None


@dataclass
class Created:
    ticket: Ticket  # a TicketRecord when made in a batch (ticket_batches.create_many)
    warnings: list[str] = field(default_factory=list)
    assignee: User | None = None


def business_calendar(ctx: Context) -> BusinessCalendar:
    return _calendar(ctx.timezone)


_CALENDARS: dict[str, BusinessCalendar] = {}


def _calendar(tz: str) -> BusinessCalendar:
    if tz not in _CALENDARS:
        _CALENDARS[tz] = BusinessCalendar(tz)
    return _CALENDARS[tz]


async def find(uow: UnitOfWork, text: str, *, for_update: bool = False) -> Ticket:
    """A ticket by its ref typed loosely (`ff123`) or by an external ref (`FT406824`)."""
    ref = refs.normalise_ref(text)
    ticket = None
    if ref:
        ticket = await uow.tickets.by_ref(ref, for_update=for_update)
    elif text.strip():
        found = await uow.tickets.by_external_ref(text.strip().upper())
        if found and for_update:
            found = await uow.tickets.by_ref(found.ref, for_update=True)
        ticket = found
    if ticket is None:
        raise NotFound(f"No ticket {ref or text.strip()!s}.")
    return ticket


async def find_visible(uow: UnitOfWork, actor: Actor, text: str, *, for_update: bool = False,
                       taking: bool = False):
    """The named ticket, if the actor may see it, or (`taking`) take it (SPEC 3.10)."""
    ticket = await find(uow, text, for_update=for_update)
    if actor.user is not None and not permissions.can_find(actor.user, ticket, taking=taking):
        # Same answer as a missing ticket: a technician learns nothing about others' work.
        raise NotFound(f"No ticket {ticket.ref} among yours.")
    return ticket


async def _start_clock(uow: UnitOfWork, ctx: Context, ticket: Ticket, started: datetime
                       ) -> None:
    policy = SlaPolicy.from_dict(await uow.policies.get(ticket.priority))
    ticket.sla_policy = policy.to_dict()
    ticket.sla_started_at = started
    await refresh_due_times(uow, ctx, ticket)


async def refresh_due_times(uow: UnitOfWork, ctx: Context, ticket: Ticket,
                            holds: list[Hold] | None = None) -> None:
    """Recompute the stored due times (after a hold ends or the priority changes)."""
    if ticket.sla_policy is None or ticket.sla_started_at is None:
        return
    policy = SlaPolicy.from_dict(ticket.sla_policy)
    if holds is None:
        holds = await holds_of(uow, ticket)
    ticket.response_due_at, ticket.resolution_due_at = due_times(
        policy, business_calendar(ctx), ticket.sla_started_at, holds
    )
    ticket.sla_next_check_at = next_sla_check(ticket)


def next_sla_check(ticket: Ticket) -> datetime | None:
    """When the SLA sweep should look at this ticket again: at once after any change (it
    then works out the exact next moment itself), never while closed or on hold."""
    if ticket.status in CLOSED_STATUSES or ticket.status is S.ON_HOLD:
        return None
    if ticket.sla_policy is None:
        return None
    return ticket.updated_at


async def holds_of(uow: UnitOfWork, ticket: Ticket) -> list[Hold]:
    return [Hold(h.started_at, h.ended_at) for h in await uow.tickets.holds(ticket.id)]


@dataclass
class Found:
    """What the register and the people tables say about a ticket about to be logged."""

    dr: str | None = None
    record: DrRecord | None = None
    project_name: str | None = None
    project: Project | None = None
    contractor: Contractor | None = None
    assignee: User | None = None


def dr_of(new: NewTicket) -> str | None:
    if not new.dr_number:
        return None
    dr = refs.normalise_dr(new.dr_number)
    if dr is None:
        raise InvalidInput(f"'{new.dr_number}' is not a DR number (DR and 6 to 8 digits).")
    return dr


def default_assignee(actor: Actor) -> User | None:
    # A technician who logs a fault is working it.
    if actor.user is not None and actor.user.role is Role.TECHNICIAN:
        return actor.user
    return None


def check_assignable(actor: Actor, user: User | None) -> User:
    if user is None or not user.active:
        raise NotFound("That person is not registered.")
    if (
        actor.user is not None
        and user.id != actor.id
        and not permissions.may_assign_to(actor.user, user)
    ):
        raise PermissionDenied(f"A {actor.user.role.value} may not assign work to {user.name}.")
    return user


def build_ticket(ctx: Context, actor: Actor, new: NewTicket, ref: str, found: Found,
                 policy: SlaPolicy, kind: type[T]) -> tuple[T, list[str]]:
    """The new ticket, whole and not yet stored: register details, assignment, starting
    status, SLA clock and billing. Pure, so one ticket and ten thousand are built alike."""
    now = ctx.now
    dr, record_, project, assignee = found.dr, found.record, found.project, found.assignee
    title = (new.title or new.description or "").strip()
    if not title:
        title = f"Fault at {dr}" if dr else "Fault"
    contractor_id = found.contractor.id if found.contractor is not None else None
    if contractor_id is None and actor.user is not None and actor.user.role is Role.CONTRACTOR:
        contractor_id = actor.user.contractor_id  # a contractor logs work for their company
    status = S.OPEN
    if assignee is not None:
        contractor_id = assignee.contractor_id or contractor_id
        status = S.ASSIGNED
    if new.status is not None:
        status = new.status  # imported work that already moved on outside the system
    created_at = new.created_at or now
    # A ticket being created has never been on hold: its clock runs from its start.
    response_due, resolution_due = due_times(policy, business_calendar(ctx), created_at, [])
    # One constructor call with every value: each attribute set on a mapped class costs.
    ticket = kind(
        ref=ref,
        title=title[:300],
        description=new.description,
        ticket_type=new.ticket_type,
        source=new.source,
        priority=new.priority,
        status=status,
        created_at=created_at,
        updated_at=now,
        external_ref=new.external_ref.upper() if new.external_ref else None,
        dr_number=dr,
        dr_known=record_ is not None,
        pole_number=new.pole_number or (record_.pole if record_ else None),
        pon_number=new.pon_number or (record_.pon if record_ else None),
        zone=new.zone or (record_.zone if record_ else None),
        project_id=project.id if project else None,
        address=new.address or (record_.address if record_ else None),
        latitude=record_.latitude if record_ else None,
        longitude=record_.longitude if record_ else None,
        assignee_id=assignee.id if assignee is not None else None,
        contractor_id=contractor_id,
        created_by_id=actor.id,
        is_infrastructure=new.infrastructure_of is not None,
        escalation_id=new.infrastructure_of,
        fault_cause=new.fault_cause,
        fault_cause_details=new.fault_cause_details if new.fault_cause else None,
        sla_policy=policy.to_dict(),
        sla_started_at=created_at,
        response_due_at=response_due,
        resolution_due_at=resolution_due,
    )
    warnings: list[str] = []
    if dr and record_ is None:
        warnings.append(
            f"{dr} is not in the DR register: pole, PON, zone and address are unknown. "
            f"Send them with 'pole {ticket.ref} P-1234', 'pon {ticket.ref} PON-7'."
        )
    if found.project_name and project is None:
        # Not the technician's problem to fix: it shows up as "project: null" for admins.
        log.info("%s names project %r, which is not registered", dr, found.project_name)
    _start_at_status(ticket, now)
    ticket.sla_next_check_at = next_sla_check(ticket)
    apply_billing(ticket, project, record_, ctx.now.astimezone(ZoneInfo(ctx.timezone)).date())
    return ticket, warnings


def creation_events(ticket: Ticket, assignee: User | None
                    ) -> list[tuple[AuditAction, object, object]]:
    action = AuditAction.IMPORTED if ticket.source is Source.WEEKLY_REPORT else AuditAction.CREATED
    events: list[tuple[AuditAction, object, object]] = [(action, None, _summary(ticket))]
    if assignee is not None:
        events.append((AuditAction.ASSIGNED, None, assignee.id))
    return events


async def create_ticket(uow: UnitOfWork, ctx: Context, actor: Actor, new: NewTicket) -> Created:
    if actor.user is not None:
        permissions.require(actor.user, Action.CREATE)
    found = Found(dr=dr_of(new))
    found.record = await uow.drs.get(found.dr) if found.dr else None
    found.project_name = new.project or (found.record.project if found.record else None)
    if found.project_name:
        found.project = await uow.projects.by_name(found.project_name)
    if new.contractor:
        found.contractor = await uow.users.contractor(new.contractor, create=True)
    if new.assignee_id is not None:
        found.assignee = check_assignable(actor, await uow.users.by_id(new.assignee_id))
    else:
        found.assignee = default_assignee(actor)
    policy = SlaPolicy.from_dict(await uow.policies.get(new.priority))
    ticket, warnings = build_ticket(ctx, actor, new, await uow.tickets.next_ref(), found, policy,
                                    Ticket)

    await uow.tickets.add(ticket)
    await uow.flush()
    for action, old, value in creation_events(ticket, found.assignee):
        record(uow, ctx, actor, ticket, action, old, value)
    assignee = found.assignee
    if assignee is not None and assignee.id != actor.id:
        await notify_user(uow, ctx.now, assignee, "ticket_assigned", ticket)
    from domain.services.repeat_faults import check as check_repeat_faults

    for infra in await check_repeat_faults(uow, ctx, ticket):
        warnings.append(f"Repeat faults here: infrastructure ticket {infra.ref} opened.")
    return Created(ticket, warnings, assignee)


async def checklist(uow: UnitOfWork, ticket: Ticket, *, reading: bool = False
                    ) -> list[VerificationStep]:
    """The ticket's verification steps (SPEC 3.4). They are written from its type's template
    the first time they are needed rather than when the ticket is logged: most imported work
    never gets a photo through us, and ten thousand tickets would otherwise mean seventy
    thousand rows nobody reads."""
    steps = await uow.tickets.steps(ticket.id)
    if not steps:
        steps = steps_for_ticket(ticket.id, ticket.ticket_type)
        if reading:  # a view shows the template as it is, without writing it
            return steps
        await uow.tickets.add_steps(steps)
        await uow.flush()  # so that a second look in this transaction finds them
    return steps


def _summary(ticket: Ticket) -> dict:
    return {
        "ref": ticket.ref,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "dr_number": ticket.dr_number,
        "title": ticket.title,
    }


async def _assignable(uow: UnitOfWork, actor: Actor, user_id: int) -> User:
    return check_assignable(actor, await uow.users.by_id(user_id))


async def assign(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, assignee_id: int
) -> Ticket:
    taking = actor.id == assignee_id
    if taking and ticket.assignee_id == assignee_id:
        raise Conflict(f"{ticket.ref} is already yours.")
    if actor.user is not None:
        permissions.require(actor.user, Action.TAKE if taking else Action.ASSIGN, ticket)
    if ticket.status in CLOSED_STATUSES:
        raise Conflict(f"{ticket.ref} is {ticket.status.value}: it cannot be assigned.")
    assignee = await _assignable(uow, actor, assignee_id)
    if ticket.assignee_id == assignee.id:
        raise Conflict(f"{ticket.ref} is already assigned to {assignee.name}.")
    old = ticket.assignee_id
    ticket.assignee_id = assignee.id
    if assignee.contractor_id:
        ticket.contractor_id = assignee.contractor_id
    ticket.updated_at = ctx.now
    record(uow, ctx, actor, ticket, AuditAction.ASSIGNED, old, assignee.id)
    if ticket.status in (S.OPEN, S.QA_REJECTED):
        await _move(uow, ctx, actor, ticket, S.ASSIGNED, GuardContext())
    if not taking:
        await notify_user(uow, ctx.now, assignee, "ticket_assigned", ticket)
    return ticket


# Which permission a move needs, by target status.
_MOVE_ACTION: dict[Status, Action] = {
    S.OPEN: Action.ASSIGN,
    S.ASSIGNED: Action.WORK,
    S.IN_PROGRESS: Action.WORK,
    S.ON_HOLD: Action.WORK,
    S.PENDING_QA: Action.WORK,
    S.QA_IN_PROGRESS: Action.QA,
    S.QA_APPROVED: Action.QA,
    S.QA_REJECTED: Action.QA,
    S.PENDING_HANDOVER: Action.PARK,
    S.HANDED_TO_MAINTENANCE: Action.HANDOVER_QA,
    S.CLOSED: Action.CLOSE,
    S.CANCELLED: Action.CANCEL,
}


async def change_status(
    uow: UnitOfWork,
    ctx: Context,
    actor: Actor,
    ticket: Ticket,
    target: Status,
    *,
    reason: str | None = None,
    hold_reason: HoldReason | None = None,
    guard: GuardContext | None = None,
) -> Ticket:
    """Move a ticket along the workflow, with the permission and guard checks of SPEC 3.2."""
    resuming = ticket.status is S.ON_HOLD and target is ticket.held_from
    if actor.user is not None:
        needed = Action.WORK if resuming else _MOVE_ACTION[target]
        if ticket.status is S.PENDING_QA and target is S.IN_PROGRESS:
            needed = Action.WORK  # withdrawn by the technician
        if target is S.PENDING_QA and actor.user.role is Role.QA:
            needed = Action.HANDOVER_QA  # QA takes it in (build_to_qa), or hands it back
        permissions.require(actor.user, needed, ticket)
    if target is S.ON_HOLD and hold_reason is None:
        raise Conflict(
            f"Say why {ticket.ref} is on hold: awaiting_parts, awaiting_customer, "
            f"awaiting_third_party, weather or other (e.g. 'hold {ticket.ref} parts')."
        )
    if guard is None:
        guard = GuardContext(reason=reason)
    if target is S.CLOSED and guard.active_risks is None:
        pending, active = await uow.tickets.risk_counts(ticket.id)
        guard = GuardContext(
            readiness_passed=guard.readiness_passed,
            active_risks=active,
            pending_risks=pending,
            reason=reason,
        )
    if target is S.PENDING_QA and guard.readiness_passed is None:
        # Submitting for QA always runs the readiness check afresh (SPEC 3.5).
        from domain.services.readiness import run_readiness

        result = await run_readiness(uow, ctx, actor, ticket)
        guard = GuardContext(readiness_passed=result.passed, reason=reason)
    if target is S.ON_HOLD:
        guard = GuardContext(reason=hold_reason.value if hold_reason else None)
    await _move(uow, ctx, actor, ticket, target, guard, reason=reason, hold_reason=hold_reason)
    return ticket


async def _move(
    uow: UnitOfWork,
    ctx: Context,
    actor: Actor,
    ticket: Ticket,
    target: Status,
    guard: GuardContext,
    *,
    reason: str | None = None,
    hold_reason: HoldReason | None = None,
) -> None:
    check_transition(ticket, target, guard)
    old = ticket.status
    now = ctx.now
    if target is S.ON_HOLD:
        assert hold_reason is not None
        ticket.held_from = old
        ticket.hold_reason = hold_reason
        await uow.tickets.add_hold(
            TicketHold(ticket.id, now, hold_reason, held_from=old, note=reason)
        )
    if old is S.ON_HOLD:
        for hold in await uow.tickets.holds(ticket.id):
            if hold.ended_at is None:
                hold.ended_at = now
        ticket.held_from = None
        ticket.hold_reason = None
    ticket.status = target
    ticket.updated_at = now
    _apply_status_side_effects(ticket, old, target, now)
    if old is S.ON_HOLD:
        await uow.flush()
        await refresh_due_times(uow, ctx, ticket)
    ticket.sla_next_check_at = next_sla_check(ticket)
    new_value: dict = {"status": target.value}
    if reason:
        new_value["reason"] = reason
    if hold_reason:
        new_value["hold_reason"] = hold_reason.value
    record(uow, ctx, actor, ticket, AuditAction.STATUS_CHANGED, old.value, new_value)


def _start_at_status(ticket: Ticket, now: datetime) -> None:
    """A new ticket may start further along (imported work that moved on outside the system):
    the clocks it passed on the way are met, so a closed ticket is not breaching."""
    order = FORWARD_ORDER[ticket.status]
    if ticket.status is S.CANCELLED:
        return
    if order >= FORWARD_ORDER[S.IN_PROGRESS]:
        ticket.first_response_at = now
    if order >= FORWARD_ORDER[S.PENDING_QA]:
        ticket.resolved_at = now
    if ticket.status is S.QA_REJECTED:
        ticket.rectification_count += 1
    if ticket.status is S.CLOSED:
        ticket.closed_at = now


def _apply_status_side_effects(ticket: Ticket, old: Status, target: Status, now: datetime) -> None:
    """The SLA timers' met/cleared moments and the close stamp follow the status."""
    if target is S.IN_PROGRESS and ticket.first_response_at is None:
        ticket.first_response_at = now
    if target is S.PENDING_QA and ticket.resolved_at is None:
        ticket.resolved_at = now
        if ticket.first_response_at is None:
            ticket.first_response_at = now
    if target is S.QA_REJECTED:
        ticket.resolved_at = None
        ticket.rectification_count += 1
    if target is S.CLOSED:
        ticket.closed_at = now
    if target is S.OPEN and old is not S.OPEN:
        ticket.assignee_id = None if old is S.ASSIGNED else ticket.assignee_id


async def acknowledge(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket) -> bool:
    """The assignee's acknowledgement meets the response timer (SPEC 4). True if it was new."""
    if actor.user is not None:
        permissions.require(actor.user, Action.WORK, ticket)
    if ticket.first_response_at is not None:
        return False
    ticket.first_response_at = ctx.now
    ticket.updated_at = ctx.now
    ticket.sla_next_check_at = next_sla_check(ticket)
    record(uow, ctx, actor, ticket, AuditAction.UPDATED, None, {"acknowledged": True})
    return True


def check_priority(actor: Actor, ticket: Ticket) -> None:
    """Why set_priority would refuse anyone this ticket, raised before anything changes."""
    if actor.user is not None:
        permissions.require(actor.user, Action.PRIORITY, ticket)


async def set_priority(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, priority: Priority
) -> Ticket:
    check_priority(actor, ticket)
    if ticket.priority is priority:
        raise Conflict(f"{ticket.ref} is already {priority.value}.")
    old = ticket.priority
    ticket.priority = priority
    ticket.updated_at = ctx.now
    # The clock keeps its start; the new priority's policy applies from the same start.
    await _start_clock(uow, ctx, ticket, ticket.sla_started_at or ticket.created_at)
    record(uow, ctx, actor, ticket, AuditAction.PRIORITY_CHANGED, old.value, priority.value)
    return ticket


async def add_note(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, text: str
) -> Note:
    if actor.user is not None:
        permissions.require(actor.user, Action.NOTE, ticket)
    text = text.strip()
    if not text:
        raise InvalidInput(f"The note is empty: note {ticket.ref} <text>.")
    note = Note(ticket.id, text[:4000], actor.channel, ctx.now, author_id=actor.id)
    uow.add(note)
    ticket.updated_at = ctx.now
    record(uow, ctx, actor, ticket, AuditAction.NOTE_ADDED, None, text[:4000])
    return note


async def reopen(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, reason: str | None
) -> Ticket:
    if actor.user is not None:
        permissions.require(actor.user, Action.REOPEN, ticket)
    check_reopen(ticket, ctx.now)
    target = reopen_target(ticket)
    old = ticket.status
    ticket.status = target
    ticket.closed_at = None
    ticket.resolved_at = None
    ticket.updated_at = ctx.now
    ticket.sla_next_check_at = next_sla_check(ticket)
    record(uow, ctx, actor, ticket, AuditAction.REOPENED, old.value, {"status": target.value,
                                                                     "reason": reason})
    return ticket
