"""Running the QA readiness check (SPEC 3.5) and keeping its result."""

from __future__ import annotations

from domain.context import Actor, Context
from domain.enums import AuditAction
from domain.model import QaRun, Ticket
from domain.ports import UnitOfWork
from domain.readiness import ReadinessResult, run_checks
from domain.services.audit import record
from domain.services.tickets import checklist as ticket_checklist
from domain.verification import recompute


async def refresh_steps(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket) -> list:
    """Re-derive step completion from the evidence; audit the steps that became complete."""
    steps = await ticket_checklist(uow, ticket)
    attachments = await uow.tickets.attachments(ticket.id)
    for step in recompute(steps, ticket, attachments, ctx.now, actor.id):
        record(uow, ctx, actor, ticket, AuditAction.STEP_COMPLETED, None,
               {"step": step.number, "name": step.name})
    return steps


async def run_readiness(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket
) -> ReadinessResult:
    steps = await refresh_steps(uow, ctx, actor, ticket)
    attachments = await uow.tickets.attachments(ticket.id)
    register = await uow.drs.get(ticket.dr_number) if ticket.dr_number else None
    result = run_checks(ticket, steps, attachments, register, ctx.rx_range)
    await uow.tickets.add_qa_run(
        QaRun(ticket.id, result.passed, result.to_json(), ctx.now, checked_by_id=actor.id)
    )
    ticket.qa_ready = result.passed
    ticket.qa_checked_at = ctx.now
    record(uow, ctx, actor, ticket, AuditAction.QA_CHECK_RUN, None,
           {"passed": result.passed,
            "failed": [c.name for c in result.checks if not c.passed]})
    return result
