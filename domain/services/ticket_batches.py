"""Logging many tickets at once (the weekly import). The rules are create_ticket's own, shared
through build_ticket; only the look-ups, the refs and the writes are done per batch, so ten
thousand tickets cost a few dozen round trips instead of a few hundred thousand."""

from __future__ import annotations

from collections.abc import Sequence

from domain import permissions
from domain.context import Actor, Context
from domain.enums import Priority
from domain.errors import DomainError
from domain.model import TicketRecord
from domain.notify import notify_user
from domain.permissions import Action
from domain.ports import UnitOfWork
from domain.services.audit import event_row
from domain.services.tickets import (
    Created,
    Found,
    NewTicket,
    build_ticket,
    check_assignable,
    creation_events,
    default_assignee,
    dr_of,
)
from domain.sla import SlaPolicy


async def create_many(uow: UnitOfWork, ctx: Context, actor: Actor,
                      news: Sequence[NewTicket]) -> list[Created | DomainError]:
    """Each new ticket's Created, or in its place the error that stopped it alone."""
    if actor.user is not None:
        permissions.require(actor.user, Action.CREATE)
    results: list[Created | DomainError | Found] = []
    for new in news:
        try:
            results.append(Found(dr=dr_of(new)))
        except DomainError as exc:
            results.append(exc)
    await _look_up(uow, actor, news, results)

    todo = [i for i, r in enumerate(results) if isinstance(r, Found)]
    refs = await uow.tickets.next_refs(len(todo))
    policies: dict[Priority, SlaPolicy] = {}
    tickets: list[TicketRecord] = []
    for i, ref in zip(todo, refs, strict=True):
        new, found = news[i], results[i]
        assert isinstance(found, Found)
        if new.priority not in policies:
            policies[new.priority] = SlaPolicy.from_dict(await uow.policies.get(new.priority))
        ticket, warnings = build_ticket(ctx, actor, new, ref, found, policies[new.priority],
                                        TicketRecord)
        results[i] = Created(ticket, warnings, assignee=found.assignee)  # type: ignore[arg-type]
        tickets.append(ticket)

    await uow.flush()  # earlier ORM changes of this transaction go first
    await uow.tickets.insert_many(tickets)
    created = [r for r in results if isinstance(r, Created)]
    await uow.insert_audit([event_row(ctx, actor, c.ticket, action, old, value)
                            for c in created
                            for action, old, value in creation_events(c.ticket, c.assignee)])
    for c in created:
        if c.assignee is not None and c.assignee.id != actor.id:
            await notify_user(uow, ctx.now, c.assignee, "ticket_assigned", c.ticket)

    from domain.services.repeat_faults import check_many

    by_id = {c.ticket.id: c for c in created}
    for cause, infra in await check_many(uow, ctx, tickets):
        by_id[cause.id].warnings.append(
            f"Repeat faults here: infrastructure ticket {infra.ref} opened.")
    return [r for r in results if not isinstance(r, Found)]


async def _look_up(uow: UnitOfWork, actor: Actor, news: Sequence[NewTicket],
                   results: list[Created | DomainError | Found]) -> None:
    """Fill each Found from the register and the people tables, a query per kind of thing."""
    wanted = [r.dr for r in results if isinstance(r, Found) and r.dr]
    records = await uow.drs.get_many(wanted)
    people = await uow.users.by_ids([n.assignee_id for n in news if n.assignee_id is not None])
    for i, new in enumerate(news):
        found = results[i]
        if not isinstance(found, Found):
            continue
        try:
            found.record = records.get(found.dr) if found.dr else None
            found.project_name = new.project or (found.record.project if found.record else None)
            if found.project_name:
                found.project = await uow.projects.by_name(found.project_name)  # cached
            if new.contractor:
                found.contractor = await uow.users.contractor(new.contractor, create=True)
            if new.assignee_id is not None:
                found.assignee = check_assignable(actor, people.get(new.assignee_id))
            else:
                found.assignee = default_assignee(actor)
        except DomainError as exc:
            results[i] = exc
