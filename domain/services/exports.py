"""Tickets as export rows (the weekly report's columns), read page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from domain.context import Context
from domain.ports import TicketQuery
from domain.services.views import in_sla_states

PAGE = 1000


async def export_rows(uow_factory: Callable[[], Any], ctx: Context, query: TicketQuery
                      ) -> AsyncIterator[dict[str, Any]]:
    """Keyset pages in id order, each in a short transaction: flat memory, no long locks."""
    tz = ZoneInfo(ctx.timezone)
    names: dict[tuple[str, int], str | None] = {}
    after = 0
    if query.sla:
        query = replace(query, open_only=True)  # as the list: a closed ticket's clocks stopped
    while True:
        async with uow_factory() as uow:
            page, _ = await uow.tickets.search(replace(query, after_id=after, limit=PAGE,
                                                       count=False))
            wanted = page
            if query.sla:
                await uow.tickets.load_holds([t.id for t in page])
                wanted = [t for t in page if await in_sla_states(uow, ctx, t, query.sla)]
            rows = []
            for t in wanted:
                rows.append({
                    "ref": t.ref, "external_ref": t.external_ref, "dr": t.dr_number,
                    "title": t.title, "description": t.description,
                    "type": t.ticket_type.value, "priority": t.priority.value,
                    "status": t.status.value, "pole": t.pole_number, "pon": t.pon_number,
                    "zone": t.zone, "address": t.address,
                    "project": await _name(uow, names, "project", t.project_id),
                    "assigned_to": await _name(uow, names, "user", t.assignee_id),
                    "contractor": await _name(uow, names, "contractor", t.contractor_id),
                    "fault_cause": t.fault_cause.value if t.fault_cause else None,
                    "date": t.created_at.astimezone(tz).date(),
                })
        for row in rows:
            yield row
        if len(page) < PAGE:
            return
        after = page[-1].id


async def _name(uow: Any, cache: dict, kind: str, key: int | None) -> str | None:
    if key is None:
        return None
    if (kind, key) not in cache:
        if kind == "project":
            found = await uow.projects.by_id(key)
        elif kind == "user":
            found = await uow.users.by_id(key)
        else:
            found = await uow.users.contractor_by_id(key)
        cache[(kind, key)] = found.name if found else None
    return cache[(kind, key)]
