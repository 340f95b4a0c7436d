"""Short plain-text renderings for chat replies (WhatsApp text, Slack ephemeral fallback)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from domain.context import Context
from domain.model import Ticket


def local_time(ctx: Context, value: Any) -> str:
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(ctx.timezone)).strftime("%a %d %b %H:%M")


def ticket_summary(ctx: Context, ticket: Ticket, view: dict[str, Any]) -> str:
    """What a technician sees for `FF000123`: one screen, no scrolling."""
    lines = [f"{ticket.ref} · {ticket.status.value} · {ticket.priority.value}",
             ticket.title]
    where = [x for x in (ticket.dr_number, ticket.pole_number and f"pole {ticket.pole_number}",
                         ticket.pon_number, ticket.zone) if x]
    if where:
        lines.append(" · ".join(where))
    if ticket.address:
        lines.append(ticket.address)
    assignee = view.get("assignee")
    lines.append(f"Assigned: {assignee['name'] if assignee else 'nobody'}")
    verification = view["verification"]
    lines.append(f"Steps {verification['done']}/{verification['total']}")
    for name in ("response", "resolution"):
        timer = view["sla"].get(name)
        if timer:
            state = timer["state"].replace("_", " ")
            if timer["state"] == "met":
                lines.append(f"{name.capitalize()}: met")
            else:
                due = local_time(ctx, _parse(timer["due_at"]))
                lines.append(f"{name.capitalize()}: due {due} ({state})")
    if ticket.ont_serial or ticket.ont_rx_level_dbm is not None:
        rx = f"{ticket.ont_rx_level_dbm} dBm" if ticket.ont_rx_level_dbm is not None else "-"
        lines.append(f"ONT {ticket.ont_serial or '-'} · Rx {rx}")
    if ticket.fault_cause:
        lines.append(f"Cause: {ticket.fault_cause.value}")
    return "\n".join(lines)


def _parse(value: str | None) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value) if value else None


def ticket_line(ticket: Ticket) -> str:
    where = ticket.dr_number or ticket.zone or ""
    return f"{ticket.ref} {ticket.status.value} {ticket.priority.value} {where} {ticket.title[:40]}"
