"""Risk acceptances over time (SPEC 3.7): daily reminders before expiry, escalation after."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from domain.context import Actor, Context
from domain.enums import AuditAction, Channel, RiskStatus
from domain.model import OutboundMessage
from domain.notify import address_of, notify_user, reply_to
from domain.services.audit import record

REMIND_DAYS = 7


async def expiry_run(uow_factory, ctx: Context) -> int:
    """Reminders (once a day per risk), then active -> expired -> escalated. Returns the
    number of messages queued."""
    today = ctx.now.astimezone(ZoneInfo(ctx.timezone)).date()
    system = Actor(None, Channel.SYSTEM)
    queued = 0
    async with uow_factory() as uow:
        for risk in await uow.risks.active_expiring_by(today + timedelta(days=REMIND_DAYS)):
            if risk.expires_on < today or not await uow.risks.claim_reminder(risk.id, today):
                continue
            ticket = await uow.tickets.by_id(risk.ticket_id)
            requester = await uow.users.by_id(risk.requested_by_id)
            if ticket and requester and await notify_user(
                uow, ctx.now, requester, "risk_expiring", ticket, risk_id=risk.id,
                risk_type=risk.risk_type, expiry=risk.expires_on.isoformat(),
                description=risk.description,
            ):
                queued += 1
        for risk in await uow.risks.active_expiring_by(today - timedelta(days=1)):
            risk.status = RiskStatus.EXPIRED.value
            ticket = await uow.tickets.by_id(risk.ticket_id)
            record(uow, ctx, system, ticket, AuditAction.RISK_EXPIRED, "active",
                   {"risk_id": risk.id})
        await uow.flush()
        for risk in await uow.risks.with_status(RiskStatus.EXPIRED.value):
            risk.status = RiskStatus.ESCALATED.value
            ticket = await uow.tickets.by_id(risk.ticket_id)
            assert ticket is not None
            text = (f"Risk acceptance #{risk.id} on {ticket.ref} ({risk.risk_type}) expired on "
                    f"{risk.expires_on.isoformat()} and is escalated: {risk.description}")
            ops = ctx.channels.get("ops")
            if ops:
                await uow.outbox.add(OutboundMessage(channel="slack", address=ops, text=text,
                                                     ticket_id=ticket.id, created_at=ctx.now,
                                                     next_attempt_at=ctx.now))
                queued += 1
            requester = await uow.users.by_id(risk.requested_by_id)
            target = address_of(requester) if requester else None
            if target:
                await reply_to(uow, ctx.now, target[0], target[1], text, ticket.id)
                queued += 1
            record(uow, ctx, system, ticket, AuditAction.ESCALATED, "expired",
                   {"risk_id": risk.id, "status": "escalated"})
        await uow.commit()
    return queued
