"""The approvals-channel message for a risk acceptance, with its Approve / Reject buttons."""

from __future__ import annotations

from typing import Any

from domain.context import Actor, Context
from domain.media_links import EvidenceLink, evidence_links
from domain.model import OutboundMessage, RiskAcceptance, Ticket, User
from domain.notify import address_of, reply_to
from domain.ports import UnitOfWork
from domain.sla_messages import local
from handlers.slack.blocks import evidence_block


async def ticket_evidence(uow: UnitOfWork, ctx: Context, ticket: Ticket) -> list[EvidenceLink]:
    """The ticket's photos as signed links, for a manager deciding without a login."""
    if ctx.media_links is None:
        return []
    return evidence_links(ctx.media_links, await uow.tickets.attachments(ticket.id), ctx.now)


def risk_blocks(risk: RiskAcceptance, ticket: Ticket, requester: str,
                outcome: str | None = None, evidence: list[EvidenceLink] | None = None
                ) -> list[dict[str, Any]]:
    text = (
        f"*Risk acceptance #{risk.id}* on *{ticket.ref}* ({ticket.title})\n"
        f"Type: `{risk.risk_type}` · expires {risk.expires_on.isoformat()}\n"
        f"{risk.description}\nRequested by {requester}"
    )
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    photos = evidence_block(evidence)
    if photos:
        blocks.append(photos)
    if outcome:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": outcome}]})
    else:
        blocks.append({
            "type": "actions",
            "block_id": f"risk_{risk.id}",
            "elements": [
                {"type": "button", "action_id": "risk_approve", "style": "primary",
                 "text": {"type": "plain_text", "text": "Approve"}, "value": str(risk.id)},
                {"type": "button", "action_id": "risk_reject", "style": "danger",
                 "text": {"type": "plain_text", "text": "Reject"}, "value": str(risk.id)},
            ],
        })
    return blocks


async def announce_risk(uow: UnitOfWork, ctx: Context, risk: RiskAcceptance, ticket: Ticket,
                        actor: Actor) -> OutboundMessage | None:
    channel = ctx.channels.get("approvals")
    if not channel:
        return None
    message = OutboundMessage(
        channel="slack",
        address=channel,
        text=f"Risk acceptance #{risk.id} on {ticket.ref}: {risk.risk_type} until "
             f"{risk.expires_on.isoformat()}",
        blocks=risk_blocks(risk, ticket, actor.name,
                           evidence=await ticket_evidence(uow, ctx, ticket)),
        template="risk_requested",
        ticket_id=ticket.id,
        created_at=ctx.now,
        next_attempt_at=ctx.now,
    )
    await uow.outbox.add(message)
    await uow.flush()
    risk.approval_message_id = message.id
    return message


async def announce_decision(uow: UnitOfWork, ctx: Context, risk: RiskAcceptance, ticket: Ticket,
                            decider: User) -> None:
    """After a decision, from any door (the buttons, `risk approve 12`, REST): the approvals
    message shows the outcome and who decided, in place, and the requester is told (SPEC 3.7)."""
    word = "approved" if risk.status == "active" else "rejected"
    requester = await uow.users.by_id(risk.requested_by_id)
    if risk.approval_message_id:
        outcome = f"*{word.capitalize()}* by {decider.name} at {local(ctx.now, ctx.timezone)}"
        await uow.outbox.add(OutboundMessage(
            channel="slack", address=ctx.channels.get("approvals") or "",
            text=f"Risk acceptance #{risk.id} on {ticket.ref}: {word}",
            blocks=risk_blocks(risk, ticket, requester.name if requester else "?", outcome,
                               await ticket_evidence(uow, ctx, ticket)),
            update_of=risk.approval_message_id, ticket_id=ticket.id,
            created_at=ctx.now, next_attempt_at=ctx.now))
    if requester is not None and address_of(requester):
        channel, address = address_of(requester)  # type: ignore[misc]
        await reply_to(uow, ctx.now, channel, address,
                       f"Your risk acceptance #{risk.id} on {ticket.ref} was {word} by "
                       f"{decider.name}.", ticket.id)
