"""Block Kit renderings: the ticket card and the modal for a new ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.enums import Priority
from domain.media_links import EvidenceLink
from domain.sla_messages import local

_STATE_EMOJI = {"on_track": ":large_green_circle:", "near_breach": ":large_yellow_circle:",
                "breached": ":red_circle:", "met": ":white_check_mark:",
                "paused": ":double_vertical_bar:"}


def _timer(name: str, timer: dict[str, Any] | None, tz: str) -> str:
    if not timer:
        return f"*{name}:* -"
    emoji = _STATE_EMOJI.get(timer["state"], "")
    due_at = timer.get("due_at")
    due = local(datetime.fromisoformat(due_at), tz) if due_at else "-"
    return f"*{name}:* {emoji} {timer['state'].replace('_', ' ')} (due {due})"


_SECTION_LIMIT = 3000  # Slack's limit on a section's text


def evidence_block(evidence: list[EvidenceLink] | None) -> dict[str, Any] | None:
    """The line "Evidence (2): step 3 photo · step 5 photo", each a signed link that opens
    without a login; cut short (saying how many more) at Slack's limit."""
    if not evidence:
        return None
    text = f"*Evidence ({len(evidence)}):* "
    for shown, item in enumerate(evidence):
        # Slack's text escapes &, < and > as entities, inside links too.
        url = item.url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E")
        link = ("" if shown == 0 else " · ") + f"<{url}|{item.label}>"
        rest = f" · and {len(evidence) - shown} more (the ticket's attachments in the API)"
        if len(text) + len(link) + len(rest) > _SECTION_LIMIT:
            text += rest
            break
        text += link
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def ticket_card(view: dict[str, Any], evidence: list[EvidenceLink] | None = None,
                tz: str = "Africa/Johannesburg") -> list[dict[str, Any]]:
    """The ticket as Slack shows it; times in the business's time zone, as in messages."""
    assignee = view["assignee"]["name"] if view.get("assignee") else "unassigned"
    location = " · ".join(x for x in (view.get("dr_number"), view.get("pole_number"),
                                      view.get("pon_number"), view.get("zone")) if x) or "-"
    verification = view["verification"]
    fields = [
        f"*Status:* {view['status']}",
        f"*Priority:* {view['priority']}",
        f"*Assignee:* {assignee}",
        f"*Steps:* {verification['done']}/{verification['total']}",
        _timer("Response", view["sla"].get("response"), tz),
        _timer("Resolution", view["sla"].get("resolution"), tz),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text",
                                    "text": f"{view['ref']} {view['title']}"[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f":round_pushpin: {location}"
                                          + (f" — {view['address']}" if view.get("address")
                                             else "")}]},
    ]
    extra = []
    if view.get("ont_serial") or view.get("ont_rx_level_dbm") is not None:
        extra.append(f"ONT {view.get('ont_serial') or '-'} · Rx {view.get('ont_rx_level_dbm')}")
    if view.get("fault_cause"):
        extra.append(f"Cause {view['fault_cause']} · billing {view.get('billing_classification')}")
    if extra:
        blocks.append({"type": "context",
                       "elements": [{"type": "mrkdwn", "text": " | ".join(extra)}]})
    photos = evidence_block(evidence)
    if photos:
        blocks.append(photos)
    return blocks


def new_ticket_modal() -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": p.value}, "value": p.value}
               for p in Priority]
    return {
        "type": "modal",
        "callback_id": "ticket_new",
        "title": {"type": "plain_text", "text": "New ticket"},
        "submit": {"type": "plain_text", "text": "Create"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "dr",
             "label": {"type": "plain_text", "text": "DR number"},
             "element": {"type": "plain_text_input", "action_id": "value",
                         "placeholder": {"type": "plain_text", "text": "DR1234567"}}},
            {"type": "input", "block_id": "priority",
             "label": {"type": "plain_text", "text": "Priority"},
             "element": {"type": "static_select", "action_id": "value", "options": options,
                         "initial_option": options[1]}},
            {"type": "input", "block_id": "description",
             "label": {"type": "plain_text", "text": "What is wrong?"},
             "element": {"type": "plain_text_input", "action_id": "value", "multiline": True}},
        ],
    }
