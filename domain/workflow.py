"""The status workflow of SPEC 3.2: which moves exist, and the guards that refuse a move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.enums import Status, TicketType
from domain.errors import Conflict
from domain.model import Ticket

S = Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.OPEN: frozenset({S.ASSIGNED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.OPEN, S.ON_HOLD, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.PENDING_QA, S.ASSIGNED, S.ON_HOLD, S.CANCELLED}),
    # on_hold goes back to where it came from: see allowed_targets()
    S.ON_HOLD: frozenset(),
    S.PENDING_QA: frozenset({S.QA_IN_PROGRESS, S.IN_PROGRESS, S.CANCELLED}),
    S.QA_IN_PROGRESS: frozenset({S.QA_APPROVED, S.QA_REJECTED, S.PENDING_QA}),
    S.QA_REJECTED: frozenset({S.IN_PROGRESS, S.ASSIGNED, S.CANCELLED}),
    S.QA_APPROVED: frozenset({S.PENDING_HANDOVER, S.HANDED_TO_MAINTENANCE, S.CLOSED}),
    S.PENDING_HANDOVER: frozenset({S.HANDED_TO_MAINTENANCE, S.QA_APPROVED}),
    S.HANDED_TO_MAINTENANCE: frozenset({S.CLOSED}),
    # reopening is its own command (reopen), not a plain status move
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

REOPEN_WINDOW = timedelta(days=30)

# The order tickets move forward in; an import never moves a ticket backwards along it.
FORWARD_ORDER: dict[Status, int] = {
    S.OPEN: 0,
    S.ASSIGNED: 1,
    S.IN_PROGRESS: 2,
    S.ON_HOLD: 2,
    S.QA_REJECTED: 2,
    S.PENDING_QA: 3,
    S.QA_IN_PROGRESS: 4,
    S.QA_APPROVED: 5,
    S.PENDING_HANDOVER: 6,
    S.HANDED_TO_MAINTENANCE: 7,
    S.CLOSED: 8,
    S.CANCELLED: 8,
}


def allowed_targets(ticket: Ticket) -> frozenset[Status]:
    if ticket.status is S.ON_HOLD:
        return frozenset({ticket.held_from}) if ticket.held_from else frozenset()
    return TRANSITIONS[ticket.status]


@dataclass(frozen=True)
class GuardContext:
    """What the guards need to know beyond the ticket itself.

    The QA, risk and handover facts are gathered by the services that own them; a guard whose
    input was not gathered refuses rather than passes (None means "not known").
    """

    readiness_passed: bool | None = None
    active_risks: int | None = None
    pending_risks: int | None = None
    reason: str | None = None


def check_transition(ticket: Ticket, target: Status, ctx: GuardContext) -> None:
    """Raise Conflict naming the failed guard and what to do; return when the move may happen."""
    if target is ticket.status:
        raise Conflict(f"{ticket.ref} is already {target.value}.")
    if target not in allowed_targets(ticket):
        allowed = ", ".join(sorted(s.value for s in allowed_targets(ticket))) or "none"
        raise Conflict(
            f"{ticket.ref} cannot go from {ticket.status.value} to {target.value}. "
            f"From {ticket.status.value} it can go to: {allowed}.",
            details={"from": ticket.status.value, "to": target.value, "allowed": allowed},
        )
    guard = _GUARDS.get(target)
    if guard:
        guard(ticket, ctx)


def _needs_assignee(ticket: Ticket, ctx: GuardContext) -> None:
    if ticket.assignee_id is None:
        raise Conflict(f"{ticket.ref} has no assignee: assign someone first.")


def _needs_readiness(ticket: Ticket, ctx: GuardContext) -> None:
    if ctx.readiness_passed is not True:
        raise Conflict(
            f"{ticket.ref} has not passed the QA readiness check: fix what it lists, then say done."
        )


def _needs_reason(ticket: Ticket, ctx: GuardContext) -> None:
    if not (ctx.reason and ctx.reason.strip()):
        raise Conflict(f"Say why {ticket.ref} is rejected: qa reject {ticket.ref} <reason>.")


def _approval(ticket: Ticket, ctx: GuardContext) -> None:
    if ctx.readiness_passed is True:
        return
    if ctx.active_risks:
        return  # a conditional approval, recorded as such by the QA service
    raise Conflict(
        f"{ticket.ref} cannot be approved: the readiness check fails and there is no active "
        "risk acceptance. Fix the failed checks or have a manager approve a risk acceptance."
    )


def _closable(ticket: Ticket, ctx: GuardContext) -> None:
    if ctx.pending_risks is None or ctx.active_risks is None:
        raise Conflict(f"{ticket.ref}: the risk acceptances could not be checked.")
    if ctx.pending_risks or ctx.active_risks:
        raise Conflict(
            f"{ticket.ref} has {ctx.pending_risks} pending and {ctx.active_risks} active risk "
            "acceptance(s): resolve them before closing."
        )
    if ticket.ticket_type is TicketType.MAINTENANCE and ticket.fault_cause is None:
        raise Conflict(
            f"{ticket.ref} is a maintenance ticket without a fault cause: "
            f"cause {ticket.ref} <cause> <details> first."
        )


def _hold(ticket: Ticket, ctx: GuardContext) -> None:
    if ticket.hold_reason is None and not ctx.reason:
        raise Conflict(
            f"Say why {ticket.ref} is on hold: awaiting_parts, awaiting_customer, "
            "awaiting_third_party, weather or other."
        )


_GUARDS = {
    S.ASSIGNED: _needs_assignee,
    S.PENDING_QA: _needs_readiness,
    S.QA_REJECTED: _needs_reason,
    S.QA_APPROVED: _approval,
    S.CLOSED: _closable,
    S.ON_HOLD: _hold,
}


def check_reopen(ticket: Ticket, now: datetime) -> None:
    if ticket.status is not S.CLOSED:
        raise Conflict(f"{ticket.ref} is {ticket.status.value}: only closed tickets reopen.")
    if ticket.closed_at is None or now - ticket.closed_at > REOPEN_WINDOW:
        raise Conflict(f"{ticket.ref} was closed more than 30 days ago: log a new ticket.")


def reopen_target(ticket: Ticket) -> Status:
    return S.ASSIGNED if ticket.assignee_id is not None else S.OPEN
