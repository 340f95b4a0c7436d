"""Who must be told what, in which words (SPEC section 5 templates), through the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.model import OutboundMessage, Ticket, User
from domain.ports import UnitOfWork

DUPLICATE_WINDOW = timedelta(minutes=5)

TEMPLATES: dict[str, str] = {
    "ticket_assigned": (
        "Hi {name}, you have been assigned {ref}: {title}.{dr_line}\n"
        "Reply 'start {ref}' when you begin."
    ),
    "qa_rejected": (
        "{ref} was rejected by QA.\nReason: {reason}\n"
        "Fix it and say 'done {ref}' to resubmit."
    ),
    "qa_approved": "{ref} passed QA ({title}). Thank you, {name}.",
    "ticket_closed": "{ref} is closed ({title}).",
    "sla_warning": "SLA warning: {ref} {timer} is due {due}. Assignee: {assignee}.",
    "risk_expiring": (
        "{ref}: risk acceptance #{risk_id} ({risk_type}) expires on {expiry}.\n{description}"
    ),
    "escalation_created": (
        "Repeat faults on {scope_type} {scope_value}: {count} faults in {window} days. "
        "Infrastructure ticket {ref} opened."
    ),
    "handover_complete": "{ref} handed over ({handover_type}) from {from_owner} to {to_owner}.",
}


def whatsapp_chat_id(phone: str) -> str:
    return f"{phone}@c.us"


def address_of(user: User) -> tuple[str, str] | None:
    """(channel, address) to reach a person directly: WhatsApp first, else a Slack DM."""
    if user.phone:
        return "whatsapp", whatsapp_chat_id(user.phone)
    if user.slack_id:
        return "slack", user.slack_id
    return None


def render(template: str, ticket: Ticket, **values: Any) -> str:
    base = {
        "ref": ticket.ref,
        "title": ticket.title,
        "dr_line": f" DR: {ticket.dr_number}." if ticket.dr_number else "",
        "name": "",
    }
    base.update(values)
    return TEMPLATES[template].format(**base)


async def notify_user(
    uow: UnitOfWork,
    now: datetime,
    user: User,
    template: str,
    ticket: Ticket,
    **values: Any,
) -> OutboundMessage | None:
    """Queue a templated message to a person; the same ticket, template and person within
    five minutes is sent once."""
    target = address_of(user)
    if target is None:
        return None
    channel, address = target
    key = f"{ticket.ref}:{template}:{address}"
    if await uow.outbox.sent_recently(key, now - DUPLICATE_WINDOW):
        return None
    values.setdefault("name", user.name.split()[0] if user.name else "")
    message = OutboundMessage(
        channel=channel,
        address=address,
        text=render(template, ticket, **values),
        template=template,
        ticket_id=ticket.id,
        dedupe_key=key,
        created_at=now,
        next_attempt_at=now,
    )
    await uow.outbox.add(message)
    return message


async def reply_to(
    uow: UnitOfWork, now: datetime, channel: str, address: str, text: str,
    ticket_id: int | None = None, thread_ts: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> OutboundMessage:
    """A direct answer to someone who wrote to the bot (never suppressed as a duplicate)."""
    message = OutboundMessage(
        channel=channel,
        address=address,
        text=text,
        ticket_id=ticket_id,
        thread_ts=thread_ts,
        blocks=blocks,
        created_at=now,
        next_attempt_at=now,
    )
    await uow.outbox.add(message)
    return message
