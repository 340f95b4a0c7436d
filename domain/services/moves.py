"""A status change asked for by name (chat `status FF.. x`, REST `/status`): each target goes
through the use case that owns it, so QA, holds and closing keep their own rules."""

from __future__ import annotations

from domain.context import Actor, Context
from domain.enums import HoldReason, Status, parse_hold_reason
from domain.errors import InvalidInput
from domain.model import Ticket
from domain.ports import UnitOfWork
from domain.readiness import ReadinessResult
from domain.services import qa as qa_service
from domain.services import tickets as ticket_service
from domain.services import work


async def move(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, target: Status,
               *, reason: str | None = None, hold_reason: HoldReason | None = None
               ) -> ReadinessResult | None:
    """Returns the readiness result when the move was a submission for QA."""
    if target is Status.ON_HOLD:
        hold_reason = hold_reason or parse_hold_reason(reason or "")
        if hold_reason is None:
            raise InvalidInput(
                f"Say why: status {ticket.ref} on_hold awaiting_parts|awaiting_customer|"
                "awaiting_third_party|weather|other"
            )
        await work.hold(uow, ctx, actor, ticket, hold_reason, None)
    elif target is Status.PENDING_QA:
        return await work.submit_done(uow, ctx, actor, ticket)
    elif target is Status.QA_APPROVED:
        await qa_service.qa_approve(uow, ctx, actor, ticket, reason)
    elif target is Status.QA_REJECTED:
        await qa_service.qa_reject(uow, ctx, actor, ticket, reason or "")
    elif target is Status.CLOSED:
        await qa_service.close(uow, ctx, actor, ticket, reason)
    elif target is Status.CANCELLED:
        await qa_service.cancel(uow, ctx, actor, ticket, reason)
    elif ticket.status is Status.CLOSED and target in (Status.OPEN, Status.ASSIGNED):
        # Reopening (SPEC 3.2): back to assigned, or open when nobody is assigned.
        await ticket_service.reopen(uow, ctx, actor, ticket, reason)
    elif ticket.status is Status.ON_HOLD and target is ticket.held_from:
        await work.resume(uow, ctx, actor, ticket)
    else:
        await ticket_service.change_status(uow, ctx, actor, ticket, target, reason=reason)
    return None
