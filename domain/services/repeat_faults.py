"""Repeat faults (SPEC 3.9): at a scope's threshold, one escalation and one infrastructure
ticket, never twice while that scope's escalation is open."""

from __future__ import annotations

from datetime import timedelta

from domain.context import Actor, Context
from domain.enums import Channel, Priority, Role, Source, TicketType
from domain.model import OutboundMessage, Ticket
from domain.notify import notify_user
from domain.ports import UnitOfWork

THRESHOLDS = {"pole": 3, "pon": 5, "zone": 10, "dr": 2}
WINDOW = timedelta(days=30)
_FIELDS = {"pole": "pole_number", "pon": "pon_number", "zone": "zone", "dr": "dr_number"}
_TITLES = {"pole": "Infrastructure investigation: pole {}",
           "pon": "PON investigation: {} (splitter, fibre path, OLT port)",
           "zone": "Zone-wide inspection: {}",
           "dr": "DR investigation: {}"}


async def check(uow: UnitOfWork, ctx: Context, ticket: Ticket,
                thresholds: dict[str, int] | None = None) -> list[Ticket]:
    """Run for every new (non-infrastructure) ticket; returns infrastructure tickets made."""
    if ticket.is_infrastructure:
        return []
    thresholds = thresholds or THRESHOLDS
    made = []
    for scope, field in _FIELDS.items():
        value = getattr(ticket, field)
        if not value:
            continue
        count, ticket_ids = await uow.faults.count_since(field, value, ctx.now - WINDOW)
        if count < thresholds[scope]:
            continue
        escalation_id = await uow.faults.open_escalation(scope, value, count, thresholds[scope],
                                                          ticket_ids, ctx.now)
        if escalation_id is None:
            continue  # this scope already has an open escalation
        made.append(await _infrastructure_ticket(uow, ctx, ticket, scope, value, count,
                                                 escalation_id))
    return made


async def _infrastructure_ticket(uow: UnitOfWork, ctx: Context, cause: Ticket, scope: str,
                                 value: str, count: int, escalation_id: int) -> Ticket:
    from domain.services.tickets import NewTicket, create_ticket

    new = NewTicket(
        title=_TITLES[scope].format(value),
        description=f"{count} faults on {scope} {value} in the last 30 days "
                    f"(latest {cause.ref}).",
        priority=Priority.HIGH,
        ticket_type=TicketType.MAINTENANCE,
        source=Source.CONSTRUCTION,
        dr_number=cause.dr_number if scope == "dr" else None,
        pole_number=cause.pole_number if scope in ("pole", "dr") else None,
        pon_number=cause.pon_number if scope in ("pon", "pole", "dr") else None,
        zone=cause.zone,
        infrastructure_of=escalation_id,
    )
    created = await create_ticket(uow, ctx, Actor(None, Channel.SYSTEM), new)
    infra = created.ticket
    await uow.faults.link(escalation_id, infra.id)
    text = (f"Repeat faults on {scope} {value}: {count} in 30 days. "
            f"Infrastructure ticket {infra.ref} opened ({infra.title}).")
    ops = ctx.channels.get("ops")
    if ops:
        await uow.outbox.add(OutboundMessage(channel="slack", address=ops, text=text,
                                             ticket_id=infra.id, template="escalation_created",
                                             created_at=ctx.now, next_attempt_at=ctx.now))
    if cause.contractor_id is not None:
        for person in await uow.users.with_role(Role.CONTRACTOR.value):
            if person.contractor_id == cause.contractor_id:
                await notify_user(uow, ctx.now, person, "escalation_created", infra,
                                  scope_type=scope, scope_value=value, count=count, window=30)
    return infra
