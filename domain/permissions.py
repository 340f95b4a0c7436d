"""Who may do what (SPEC 3.10). Every door asks these functions; none decides on its own."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.enums import Role, Status
from domain.errors import PermissionDenied
from domain.model import Ticket, User


class Action(StrEnum):
    VIEW = "view"
    CREATE = "log tickets"
    WORK = "work"  # start, evidence, readings, cause, hold, resume, done
    NOTE = "note"
    REQUEST_RISK = "request risk acceptances on"
    TAKE = "take"
    ASSIGN = "assign"
    QA = "run QA on"
    HANDOVER_QA = "hand over"
    HANDOVER_COMPLETE = "complete maintenance on"
    PRIORITY = "change the priority of"
    ESCALATE = "escalate"
    CANCEL = "cancel"
    REOPEN = "reopen"
    PARK = "park"
    CLOSE = "close"
    ACK_SLA = "acknowledge SLA alerts on"
    DECIDE_RISK = "decide risk acceptances on"
    IMPORT = "import weekly reports"
    ADMIN = "administer"


_MIN_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.TECHNICIAN,
    Action.CREATE: Role.TECHNICIAN,
    Action.WORK: Role.TECHNICIAN,
    Action.NOTE: Role.TECHNICIAN,
    Action.REQUEST_RISK: Role.TECHNICIAN,
    Action.TAKE: Role.TECHNICIAN,
    Action.ASSIGN: Role.CONTRACTOR,
    Action.QA: Role.QA,
    Action.HANDOVER_QA: Role.QA,
    Action.HANDOVER_COMPLETE: Role.SUPERVISOR,
    Action.PRIORITY: Role.SUPERVISOR,
    Action.ESCALATE: Role.SUPERVISOR,
    Action.CANCEL: Role.SUPERVISOR,
    Action.REOPEN: Role.SUPERVISOR,
    Action.PARK: Role.SUPERVISOR,
    Action.CLOSE: Role.SUPERVISOR,
    Action.ACK_SLA: Role.SUPERVISOR,
    Action.DECIDE_RISK: Role.MANAGER,
    Action.IMPORT: Role.SUPERVISOR,
    Action.ADMIN: Role.ADMIN,
}

# QA inspectors see every ticket but do not do the technicians' field work, nor log faults
# (SPEC 3.10 gives them QA, handovers, risk requests and notes).
_QA_MAY_NOT = frozenset({Action.WORK, Action.TAKE, Action.ASSIGN, Action.CREATE})


def _own(user: User, ticket: Ticket) -> bool:
    return user.id is not None and user.id in (ticket.assignee_id, ticket.created_by_id)


def _company(user: User, ticket: Ticket) -> bool:
    return user.contractor_id is not None and ticket.contractor_id == user.contractor_id


_TAKEABLE = (Status.OPEN, Status.QA_REJECTED)


def _takeable(user: User, ticket: Ticket) -> bool:
    """An unassigned open ticket of the technician's own contractor (SPEC 3.10); one of no
    contractor is assigned by a supervisor, not taken."""
    return (ticket.assignee_id is None and ticket.status in _TAKEABLE
            and user.contractor_id is not None and ticket.contractor_id == user.contractor_id)


def can_see(user: User, ticket: Ticket) -> bool:
    if user.role is Role.TECHNICIAN:
        return _own(user, ticket)
    if user.role is Role.CONTRACTOR:
        return _own(user, ticket) or _company(user, ticket)
    return True


def can_find(user: User, ticket: Ticket, *, taking: bool = False) -> bool:
    """Whether naming the ticket finds it: one the user sees, or one they are taking."""
    return can_see(user, ticket) or (taking and allowed(user, Action.TAKE, ticket))


@dataclass(frozen=True)
class Visibility:
    """can_see as a list's filter: what a technician or contractor may list or export."""

    user_id: int
    company_id: int | None = None  # a contractor: every ticket of that company


def visibility(user: User) -> Visibility | None:
    """None for those who see every ticket."""
    if can_see_all(user) or user.id is None:
        return None
    return Visibility(user.id, user.contractor_id if user.role is Role.CONTRACTOR else None)


def allowed(user: User, action: Action, ticket: Ticket | None = None) -> bool:
    if not user.active:
        return False
    if not user.role.at_least(_MIN_ROLE[action]):
        return False
    if user.role is Role.QA and action in _QA_MAY_NOT:
        return False
    if ticket is None or user.role.at_least(Role.SUPERVISOR):
        return True
    if action is Action.TAKE:
        return _takeable(user, ticket)
    return can_see(user, ticket)


def require(user: User, action: Action, ticket: Ticket | None = None) -> None:
    if allowed(user, action, ticket):
        return
    if ticket is not None and not can_see(user, ticket):
        raise PermissionDenied(f"{ticket.ref} is not one of your tickets.")
    what = f" {ticket.ref}" if ticket is not None else ""
    raise PermissionDenied(f"A {user.role.value} may not {action.value}{what}.")


def may_assign_to(actor: User, assignee: User) -> bool:
    """Contractors assign within their company; supervisors and above assign anyone."""
    if actor.role.at_least(Role.SUPERVISOR):
        return True
    if actor.role is Role.CONTRACTOR:
        return (
            assignee.contractor_id is not None and assignee.contractor_id == actor.contractor_id
        )
    return False


def can_see_all(user: User) -> bool:
    return user.role.at_least(Role.QA)
