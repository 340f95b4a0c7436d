"""Writing the audit trail (SPEC 3.11): one event per change, with old and new values."""

from __future__ import annotations

from typing import Any

from domain.context import Actor, Context
from domain.enums import AuditAction
from domain.model import AuditEvent, Ticket
from domain.ports import UnitOfWork


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def event_row(
    ctx: Context,
    actor: Actor,
    ticket: Ticket | None,
    action: AuditAction,
    old: Any = None,
    new: Any = None,
) -> dict[str, Any]:
    """One audit event's columns, for writing many at once."""
    return {
        "action": action,
        "channel": actor.channel,
        "created_at": ctx.now,
        "ticket_id": ticket.id if ticket else None,
        "actor_id": actor.id,
        "actor_role": actor.role,
        "old_value": _plain(old),
        "new_value": _plain(new),
        "import_uid": ctx.import_uid,
    }


def record(
    uow: UnitOfWork,
    ctx: Context,
    actor: Actor,
    ticket: Ticket | None,
    action: AuditAction,
    old: Any = None,
    new: Any = None,
) -> AuditEvent:
    event = AuditEvent(**event_row(ctx, actor, ticket, action, old, new))
    uow.add(event)
    return event
