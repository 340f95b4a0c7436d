from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.enums import FaultCause, Priority, Role, Source, Status, TicketType
from domain.errors import Conflict, PermissionDenied
from domain.model import Ticket, User
from domain.permissions import Action, allowed, can_see, may_assign_to, require
from domain.workflow import (
    TRANSITIONS,
    GuardContext,
    allowed_targets,
    check_reopen,
    check_transition,
    reopen_target,
)

NOW = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
S = Status


def ticket(status: Status = S.OPEN, **kw: object) -> Ticket:
    return Ticket(
        ref="FF000001", title="t", ticket_type=kw.pop("ticket_type", TicketType.MAINTENANCE),
        source=Source.API, priority=Priority.NORMAL, status=status, created_at=NOW,
        updated_at=NOW, **kw,
    )


def test_every_status_has_an_entry() -> None:
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize(
    ("src", "dst"),
    [(S.OPEN, S.IN_PROGRESS), (S.CLOSED, S.OPEN), (S.CANCELLED, S.OPEN),
     (S.PENDING_QA, S.CLOSED), (S.HANDED_TO_MAINTENANCE, S.QA_APPROVED)],
)
def test_moves_not_in_the_table_are_refused(src: Status, dst: Status) -> None:
    with pytest.raises(Conflict) as info:
        check_transition(ticket(src, assignee_id=1), dst, GuardContext())
    assert "cannot go from" in info.value.message


def test_assigned_needs_an_assignee() -> None:
    with pytest.raises(Conflict, match="no assignee"):
        check_transition(ticket(S.OPEN), S.ASSIGNED, GuardContext())
    check_transition(ticket(S.OPEN, assignee_id=3), S.ASSIGNED, GuardContext())


def test_pending_qa_needs_a_passing_readiness_check() -> None:
    t = ticket(S.IN_PROGRESS, assignee_id=3)
    for passed in (None, False):
        with pytest.raises(Conflict, match="readiness"):
            check_transition(t, S.PENDING_QA, GuardContext(readiness_passed=passed))
    check_transition(t, S.PENDING_QA, GuardContext(readiness_passed=True))


def test_qa_rejection_needs_a_reason() -> None:
    t = ticket(S.QA_IN_PROGRESS)
    with pytest.raises(Conflict, match="why"):
        check_transition(t, S.QA_REJECTED, GuardContext(reason="  "))
    check_transition(t, S.QA_REJECTED, GuardContext(reason="photo 3 blurred"))


def test_approval_needs_readiness_or_an_active_risk() -> None:
    t = ticket(S.QA_IN_PROGRESS)
    with pytest.raises(Conflict):
        check_transition(t, S.QA_APPROVED, GuardContext(readiness_passed=False, active_risks=0))
    check_transition(t, S.QA_APPROVED, GuardContext(readiness_passed=True))
    check_transition(t, S.QA_APPROVED, GuardContext(readiness_passed=False, active_risks=1))


def test_close_needs_no_risks_and_a_cause_on_maintenance() -> None:
    t = ticket(S.QA_APPROVED)
    with pytest.raises(Conflict, match="could not be checked"):
        check_transition(t, S.CLOSED, GuardContext())
    with pytest.raises(Conflict, match="risk"):
        check_transition(t, S.CLOSED, GuardContext(pending_risks=1, active_risks=0))
    with pytest.raises(Conflict, match="fault cause"):
        check_transition(t, S.CLOSED, GuardContext(pending_risks=0, active_risks=0))
    t.fault_cause = FaultCause.WORKMANSHIP
    check_transition(t, S.CLOSED, GuardContext(pending_risks=0, active_risks=0))
    install = ticket(S.QA_APPROVED, ticket_type=TicketType.NEW_INSTALLATION)
    check_transition(install, S.CLOSED, GuardContext(pending_risks=0, active_risks=0))


def test_on_hold_returns_only_where_it_came_from() -> None:
    t = ticket(S.ON_HOLD, held_from=S.IN_PROGRESS)
    assert allowed_targets(t) == {S.IN_PROGRESS}
    with pytest.raises(Conflict):
        check_transition(t, S.ASSIGNED, GuardContext())


def test_reopen_window() -> None:
    t = ticket(S.CLOSED, closed_at=NOW - timedelta(days=29), assignee_id=4)
    check_reopen(t, NOW)
    assert reopen_target(t) is S.ASSIGNED
    t.closed_at = NOW - timedelta(days=31)
    with pytest.raises(Conflict, match="30 days"):
        check_reopen(t, NOW)
    assert reopen_target(ticket(S.CLOSED)) is S.OPEN


def user(role: Role, uid: int = 10, contractor: int | None = None) -> User:
    return User(name="x", role=role, id=uid, contractor_id=contractor)


def test_technicians_see_only_their_tickets() -> None:
    mine = ticket(S.ASSIGNED, assignee_id=10)
    other = ticket(S.ASSIGNED, assignee_id=11, contractor_id=5)
    tech = user(Role.TECHNICIAN, 10, contractor=5)
    assert can_see(tech, mine)
    assert not can_see(tech, other)
    with pytest.raises(PermissionDenied, match="not one of your tickets"):
        require(tech, Action.WORK, other)


def test_contractors_see_their_company() -> None:
    boss = user(Role.CONTRACTOR, 20, contractor=5)
    assert can_see(boss, ticket(S.ASSIGNED, assignee_id=11, contractor_id=5))
    assert not can_see(boss, ticket(S.ASSIGNED, assignee_id=11, contractor_id=6))
    assert may_assign_to(boss, user(Role.TECHNICIAN, 11, contractor=5))
    assert not may_assign_to(boss, user(Role.TECHNICIAN, 12, contractor=6))


@pytest.mark.parametrize(
    ("role", "action", "ok"),
    [
        (Role.TECHNICIAN, Action.QA, False),
        (Role.QA, Action.QA, True),
        (Role.QA, Action.WORK, False),
        (Role.QA, Action.CREATE, False),
        (Role.QA, Action.CANCEL, False),
        (Role.SUPERVISOR, Action.CANCEL, True),
        (Role.SUPERVISOR, Action.DECIDE_RISK, False),
        (Role.MANAGER, Action.DECIDE_RISK, True),
        (Role.MANAGER, Action.ADMIN, False),
        (Role.ADMIN, Action.ADMIN, True),
    ],
)
def test_role_matrix(role: Role, action: Action, ok: bool) -> None:
    assert allowed(user(role), action, ticket(S.ASSIGNED, assignee_id=99)) is ok


def test_take_needs_an_open_unassigned_ticket_of_the_same_company() -> None:
    tech = user(Role.TECHNICIAN, 10, contractor=5)
    assert allowed(tech, Action.TAKE, ticket(S.OPEN, contractor_id=5))
    assert not allowed(tech, Action.TAKE, ticket(S.OPEN))  # no contractor: assigned, not taken
    assert not allowed(tech, Action.TAKE, ticket(S.OPEN, contractor_id=6))
    assert not allowed(tech, Action.TAKE, ticket(S.ASSIGNED, assignee_id=11, contractor_id=5))


def test_inactive_people_may_do_nothing() -> None:
    u = user(Role.ADMIN)
    u.active = False
    assert not allowed(u, Action.VIEW)
