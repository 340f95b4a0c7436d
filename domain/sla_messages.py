"""The words (and Block Kit data) of SLA announcements. Plain data: no Slack SDK here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.model import Ticket

_ICON = {"near_breach": ":large_yellow_circle:", "breach": ":red_circle:",
         "escalation": ":rotating_light:"}


def local(dt: datetime | None, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M") if dt else "-"


def headline(ticket: Ticket, timer: str, kind: str, level: int, due: datetime, tz: str,
             role: str | None, assignee: str | None, early: bool = False) -> str:
    """`early`: escalated by hand before the deadline, not breached."""
    who = assignee or "nobody"
    if kind == "near_breach":
        return (f"{ticket.ref} ({ticket.priority.value}) {timer} is 80 % used: due "
                f"{local(due, tz)}. Assignee: {who}.")
    target = f" Escalated to {role}." if role else ""
    if early:
        return (f"{ticket.ref} ({ticket.priority.value}) {timer} escalated before its deadline:"
                f" due {local(due, tz)}. Assignee: {who}.{target}")
    stage = "breached" if kind == "breach" else f"escalation level {level}"
    return (f"{ticket.ref} ({ticket.priority.value}) {timer} {stage}: was due "
            f"{local(due, tz)}. Assignee: {who}.{target}")


def sla_card(ticket: Ticket, text: str, notes: list[str]) -> list[dict[str, Any]]:
    """The SLA-channel message of a ticket, with its Acknowledge / Take it buttons."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f":red_circle: {text}"}},
        {"type": "context", "elements": [{"type": "mrkdwn",
                                          "text": f"{ticket.title[:150]} · {ticket.status.value}"
                                          }]},
    ]
    if notes:
        blocks.append({"type": "context",
                       "elements": [{"type": "mrkdwn", "text": " · ".join(notes)[:2000]}]})
    blocks.append({
        "type": "actions",
        "block_id": f"sla_{ticket.ref}",
        "elements": [
            {"type": "button", "action_id": "sla_ack", "value": ticket.ref,
             "text": {"type": "plain_text", "text": "Acknowledge"}},
            {"type": "button", "action_id": "ticket_take", "value": ticket.ref,
             "style": "primary", "text": {"type": "plain_text", "text": "Take it"}},
        ],
    })
    return blocks


def icon(kind: str) -> str:
    return _ICON.get(kind, "")
