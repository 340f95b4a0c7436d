"""QA, handovers, closing, and risk decisions (SPEC 3.2, 3.7, 3.8)."""

from __future__ import annotations

from domain import permissions
from domain.context import Actor, Context
from domain.enums import AuditAction, HandoverType, RiskStatus, Status
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.handover import qa_to_maintenance_gates
from domain.model import RiskAcceptance, Ticket
from domain.notify import notify_user
from domain.permissions import Action
from domain.ports import UnitOfWork
from domain.readiness import ReadinessResult
from domain.services import tickets as ticket_service
from domain.services.audit import record
from domain.services.handovers import write_snapshot
from domain.services.readiness import run_readiness
from domain.services.tickets import checklist as ticket_checklist
from domain.workflow import GuardContext

S = Status


async def _tell_assignee(uow: UnitOfWork, ctx: Context, ticket: Ticket, template: str,
                         **values: object) -> None:
    if ticket.assignee_id is None:
        return
    assignee = await uow.users.by_id(ticket.assignee_id)
    if assignee is not None:
        await notify_user(uow, ctx.now, assignee, template, ticket, **values)


async def qa_start(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket) -> None:
    await ticket_service.change_status(uow, ctx, actor, ticket, S.QA_IN_PROGRESS)


async def qa_approve(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, note: str | None = None
) -> ReadinessResult:
    """Approve on a passing readiness check, or conditionally on an active risk acceptance."""
    if actor.user is not None:
        permissions.require(actor.user, Action.QA, ticket)
    if ticket.status is S.PENDING_QA:
        await qa_start(uow, ctx, actor, ticket)
    result = await run_readiness(uow, ctx, actor, ticket)
    _, active = await uow.tickets.risk_counts(ticket.id)
    if not result.passed and not active:
        failed = "; ".join(c.reason for c in result.failed_blocking())
        raise Conflict(
            f"{ticket.ref} cannot be approved: {failed}. Reject it, or have a manager approve "
            "a risk acceptance for a conditional approval."
        )
    await ticket_service.change_status(
        uow, ctx, actor, ticket, S.QA_APPROVED,
        reason=note, guard=GuardContext(readiness_passed=result.passed, active_risks=active),
    )
    ticket.conditional_approval = not result.passed
    await _tell_assignee(uow, ctx, ticket, "qa_approved")
    return result


async def qa_reject(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, reason: str
) -> None:
    if ticket.status is S.PENDING_QA:
        await qa_start(uow, ctx, actor, ticket)
    await ticket_service.change_status(uow, ctx, actor, ticket, S.QA_REJECTED, reason=reason)
    await _tell_assignee(uow, ctx, ticket, "qa_rejected", reason=reason.strip())


async def handover(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, kind: HandoverType
) -> list[str]:
    """Run a handover with its gates; returns warnings. A failed gate names every item."""
    warnings: list[str] = []
    if kind is HandoverType.BUILD_TO_QA:
        from domain.services.work import submit_done

        result = await submit_done(uow, ctx, actor, ticket)
        if not result.passed:
            raise Conflict(result.summary_text(ticket.ref))
        return warnings
    if kind is HandoverType.QA_TO_MAINTENANCE:
        if actor.user is not None:
            permissions.require(actor.user, Action.HANDOVER_QA, ticket)
        pending, _ = await uow.tickets.risk_counts(ticket.id)
        gates = qa_to_maintenance_gates(
            ticket, await ticket_checklist(uow, ticket),
            await uow.tickets.attachments(ticket.id), pending,
        )
        failed = [g for g in gates if g.blocking and not g.passed]
        if failed:
            raise Conflict(
                f"{ticket.ref} cannot be handed to maintenance:\n"
                + "\n".join(f"- {g.reason}" for g in failed),
                details={"failed": [g.name for g in failed]},
            )
        warnings = [g.reason for g in gates if not g.blocking and not g.passed]
        await ticket_service.change_status(uow, ctx, actor, ticket, S.HANDED_TO_MAINTENANCE)
        await write_snapshot(uow, ctx, actor, ticket, kind)
        await _tell_assignee(uow, ctx, ticket, "handover_complete", handover_type=kind.value,
                             from_owner="QA", to_owner="maintenance")
        return warnings
    # maintenance_complete closes the ticket
    if actor.user is not None:
        permissions.require(actor.user, Action.HANDOVER_COMPLETE, ticket)
    if ticket.status is not S.HANDED_TO_MAINTENANCE:
        raise Conflict(
            f"{ticket.ref} is {ticket.status.value}: only a ticket handed to maintenance "
            "can be completed."
        )
    await close(uow, ctx, actor, ticket, "maintenance complete", snapshot=False)
    await write_snapshot(uow, ctx, actor, ticket, kind)
    return warnings


async def close(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, resolution: str | None,
    *, snapshot: bool = False,
) -> None:
    await ticket_service.change_status(uow, ctx, actor, ticket, S.CLOSED, reason=resolution)
    await _tell_assignee(uow, ctx, ticket, "ticket_closed")


async def cancel(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, reason: str | None
) -> None:
    if not reason or not reason.strip():
        raise InvalidInput(f"Say why {ticket.ref} is cancelled: cancel {ticket.ref} <reason>.")
    await ticket_service.change_status(uow, ctx, actor, ticket, S.CANCELLED, reason=reason)


async def decide_risk(
    uow: UnitOfWork, ctx: Context, actor: Actor, risk_id: int, approve: bool,
    reason: str | None,
) -> tuple[RiskAcceptance, Ticket]:
    """A manager's decision. Anyone below manager is refused and nothing changes."""
    risk = await uow.tickets.risk(risk_id, for_update=True)
    if risk is None:
        raise NotFound(f"No risk acceptance #{risk_id}.")
    ticket = await uow.tickets.by_id(risk.ticket_id)
    assert ticket is not None
    if actor.user is None or not permissions.allowed(actor.user, Action.DECIDE_RISK, ticket):
        raise PermissionDenied("Only a manager or an admin may decide risk acceptances.")
    if risk.status != RiskStatus.PENDING_APPROVAL.value:
        raise Conflict(f"Risk acceptance #{risk_id} was already decided ({risk.status}).")
    if not approve and not (reason and reason.strip()):
        raise InvalidInput(f"Say why it is rejected: risk reject {risk_id} <reason>.")
    risk.status = (RiskStatus.ACTIVE if approve else RiskStatus.REJECTED).value
    risk.decided_by_id = actor.id
    risk.decided_at = ctx.now
    risk.decision_reason = reason.strip() if reason else None
    record(uow, ctx, actor, ticket, AuditAction.RISK_DECIDED,
           {"risk_id": risk.id, "status": RiskStatus.PENDING_APPROVAL.value},
           {"risk_id": risk.id, "status": risk.status, "reason": risk.decision_reason})
    return risk, ticket


_RESOLVABLE = (RiskStatus.ACTIVE.value, RiskStatus.EXPIRED.value, RiskStatus.ESCALATED.value)


async def resolve_risk(
    uow: UnitOfWork, ctx: Context, actor: Actor, risk_id: int, notes: str | None,
) -> tuple[RiskAcceptance, Ticket]:
    """An approved risk acceptance whose condition is dealt with (SPEC 3.7: active ->
    resolved, with notes); it then no longer stands in the way of closing the ticket. Whoever
    may request one on the ticket may resolve it, an expired or escalated one included."""
    risk = await uow.tickets.risk(risk_id, for_update=True)
    if risk is None:
        raise NotFound(f"No risk acceptance #{risk_id}.")
    ticket = await uow.tickets.by_id(risk.ticket_id)
    assert ticket is not None
    if actor.user is not None and not permissions.can_see(actor.user, ticket):
        raise NotFound(f"No risk acceptance #{risk_id}.")
    if actor.user is not None:
        permissions.require(actor.user, Action.REQUEST_RISK, ticket)
    if risk.status not in _RESOLVABLE:
        raise Conflict(f"Risk acceptance #{risk_id} is {risk.status}: only an approved one "
                       "(active, expired or escalated) is resolved.")
    if not (notes and notes.strip()):
        raise InvalidInput(f"Say how it was dealt with: risk resolve {risk_id} <notes>.")
    old = risk.status
    risk.status = RiskStatus.RESOLVED.value
    risk.resolution_notes = notes.strip()
    risk.resolved_at = ctx.now
    ticket.updated_at = ctx.now
    record(uow, ctx, actor, ticket, AuditAction.RISK_RESOLVED,
           {"risk_id": risk.id, "status": old},
           {"risk_id": risk.id, "status": risk.status, "notes": risk.resolution_notes})
    return risk, ticket
