"""Repeat faults (SPEC 3.9): at a scope's threshold, one escalation and one infrastructure
ticket, never twice while that scope's escalation is open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from domain.context import Actor, Context
from domain.enums import Channel, Priority, Role, Source, TicketType
from domain.errors import DomainError
from domain.model import OutboundMessage, Ticket
from domain.notify import address_of, notify_user
from domain.ports import EscalationRequest, UnitOfWork

THRESHOLDS = {"pole": 3, "pon": 5, "zone": 10, "dr": 2}
WINDOW = timedelta(days=30)
_FIELDS = {"pole": "pole_number", "pon": "pon_number", "zone": "zone", "dr": "dr_number"}
_TITLES = {"pole": "Infrastructure investigation: pole {}",
           "pon": "PON investigation: {} (splitter, fibre path, OLT port)",
           "zone": "Zone-wide inspection: {}",
           "dr": "DR investigation: {}"}


# More escalations than this from one batch (an import) reach the ops channel and each
# contractor as one list instead of a message apiece.
LIST_FROM = 4
_LISTED = 20


async def check(uow: UnitOfWork, ctx: Context, ticket: Ticket,
                thresholds: dict[str, int] | None = None) -> list[Ticket]:
    """Run for every new (non-infrastructure) ticket; returns infrastructure tickets made."""
    return [infra for _, infra in await check_many(uow, ctx, [ticket], thresholds)]


async def check_many(uow: UnitOfWork, ctx: Context, tickets: Sequence[Ticket],
                     thresholds: dict[str, int] | None = None) -> list[tuple[Ticket, Ticket]]:
    """check() for a batch of new tickets, a query per scope: (cause, infrastructure ticket)
    pairs. The cause is the batch's latest ticket in the scope."""
    thresholds = thresholds or THRESHOLDS
    candidates = [tk for tk in tickets if not tk.is_infrastructure]
    wanted: list[EscalationRequest] = []
    causes: dict[tuple[str, str], Ticket] = {}
    for scope, field in _FIELDS.items():
        latest = {getattr(tk, field): tk for tk in candidates if getattr(tk, field)}
        if len(latest) > 1:
            # A scope with an open escalation is not escalated again: in a batch (an import)
            # most scopes have one after the first chunk, and need no counting.
            for value in await uow.faults.escalated(scope, list(latest)):
                del latest[value]
        if not latest:
            continue
        found = await uow.faults.tickets_since(field, list(latest), ctx.now - WINDOW)
        for value, cause in latest.items():
            ids = found.get(value, [])
            if len(ids) >= thresholds[scope]:
                wanted.append(EscalationRequest(scope, value, len(ids), thresholds[scope], ids))
                causes[(scope, value)] = cause
    opened = await uow.faults.open_escalations(wanted, ctx.now)
    if not opened:
        return []
    from domain.services.ticket_batches import create_many

    raised = [w for w in wanted if (w.scope, w.value) in opened]
    news = [_infrastructure_ticket(causes[(w.scope, w.value)], w, opened[(w.scope, w.value)])
            for w in raised]
    made = await create_many(uow, ctx, Actor(None, Channel.SYSTEM), news)
    pairs: list[tuple[Ticket, Ticket, EscalationRequest]] = []
    for w, result in zip(raised, made, strict=True):
        if isinstance(result, DomainError):  # built from our own tickets: cannot happen
            raise result
        pairs.append((causes[(w.scope, w.value)], result.ticket, w))
    await uow.faults.link_infrastructure([opened[(w.scope, w.value)] for _, _, w in pairs])
    await _tell(uow, ctx, pairs)
    return [(cause, infra) for cause, infra, _ in pairs]


def _infrastructure_ticket(cause: Ticket, w: EscalationRequest, escalation_id: int):
    from domain.services.tickets import NewTicket

    scope, value = w.scope, w.value
    return NewTicket(
        title=_TITLES[scope].format(value),
        description=f"{w.count} faults on {scope} {value} in the last 30 days "
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


def _line(infra: Ticket, w: EscalationRequest) -> str:
    return f"• {w.scope} {w.value}: {w.count} faults → {infra.ref}"


def _listing(head: str, lines: list[str]) -> str:
    more = len(lines) - _LISTED
    tail = [f"…and {more} more (the daily digest lists every open escalation)."] if more > 0 else []
    return "\n".join([head, *lines[:_LISTED], *tail])


async def _tell(uow: UnitOfWork, ctx: Context,
                pairs: list[tuple[Ticket, Ticket, EscalationRequest]]) -> None:
    """Tell the ops channel and the contractors whose work it was (SPEC 3.9)."""
    one_by_one = len(pairs) < LIST_FROM
    ops = ctx.channels.get("ops")
    if ops and one_by_one:
        for _, infra, w in pairs:
            text = (f"Repeat faults on {w.scope} {w.value}: {w.count} in 30 days. "
                    f"Infrastructure ticket {infra.ref} opened ({infra.title}).")
            await uow.outbox.add(OutboundMessage(
                channel="slack", address=ops, text=text, ticket_id=infra.id,
                template="escalation_created", created_at=ctx.now, next_attempt_at=ctx.now))
    elif ops:
        text = _listing(f"Repeat faults: {len(pairs)} scopes reached their thresholds; "
                        f"{len(pairs)} infrastructure tickets opened.",
                        [_line(infra, w) for _, infra, w in pairs])
        await uow.outbox.add(OutboundMessage(
            channel="slack", address=ops, text=text, template="escalations_created",
            created_at=ctx.now, next_attempt_at=ctx.now))
    contractor_ids = {cause.contractor_id for cause, _, _ in pairs if cause.contractor_id}
    if not contractor_ids:
        return
    for person in await uow.users.with_role(Role.CONTRACTOR.value):
        if person.contractor_id not in contractor_ids:
            continue
        theirs = [(infra, w) for cause, infra, w in pairs
                  if cause.contractor_id == person.contractor_id]
        if one_by_one:
            for infra, w in theirs:
                await notify_user(uow, ctx.now, person, "escalation_created", infra,
                                  scope_type=w.scope, scope_value=w.value, count=w.count,
                                  window=30)
            continue
        target = address_of(person)
        if target is not None:
            text = _listing(f"Repeat faults on your work: {len(theirs)} infrastructure "
                            f"tickets opened.", [_line(infra, w) for infra, w in theirs])
            await uow.outbox.add(OutboundMessage(
                channel=target[0], address=target[1], text=text,
                template="escalations_created", created_at=ctx.now, next_attempt_at=ctx.now))
