"""Read models: a ticket as every door shows it (REST JSON, Slack cards, chat replies)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.context import Context
from domain.enums import Status, TimerState
from domain.model import Ticket, User
from domain.ports import UnitOfWork
from domain.services.tickets import business_calendar, holds_of
from domain.services.tickets import checklist as ticket_checklist
from domain.sla import SlaPolicy, TimerView, ticket_timers


def person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role.value,
        "phone": user.phone,
        "slack_id": user.slack_id,
    }


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


async def timers(uow: UnitOfWork, ctx: Context, ticket: Ticket) -> dict[str, TimerView] | None:
    if ticket.sla_policy is None or ticket.sla_started_at is None:
        return None
    policy = SlaPolicy.from_dict(ticket.sla_policy)
    return ticket_timers(
        policy,
        business_calendar(ctx),
        ticket.sla_started_at,
        await holds_of(uow, ticket),
        ticket.first_response_at,
        ticket.resolved_at,
        ctx.now,
    )


async def in_sla_states(uow: UnitOfWork, ctx: Context, ticket: Ticket,
                        states: Sequence[TimerState]) -> bool:
    """Whether one of the ticket's timers is in one of `states` (the list's `sla` filter)."""
    views = await timers(uow, ctx, ticket)
    return bool(views) and any(v.state in states for v in views.values())


def _timer_json(view: TimerView | None, ticket: Ticket) -> dict[str, Any] | None:
    if view is None:
        return None
    state = view.state
    if ticket.status is Status.CANCELLED and state is not TimerState.MET:
        state = TimerState.MET if view.met_at else state
    return {
        "due_at": _iso(view.due_at),
        "state": state.value,
        "near_breach_at": _iso(view.near_breach_at),
        "met_at": _iso(view.met_at),
        "used_ratio": round(view.used_ratio, 3),
    }


async def ticket_json(uow: UnitOfWork, ctx: Context, ticket: Ticket) -> dict[str, Any]:
    assignee = await uow.users.by_id(ticket.assignee_id) if ticket.assignee_id else None
    project = await uow.projects.by_id(ticket.project_id) if ticket.project_id else None
    contractor = (
        await uow.users.contractor_by_id(ticket.contractor_id) if ticket.contractor_id else None
    )
    steps = await ticket_checklist(uow, ticket, reading=True)
    views = await timers(uow, ctx, ticket)
    done = sum(1 for s in steps if s.complete)
    return {
        "ref": ticket.ref,
        "title": ticket.title,
        "description": ticket.description,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "ticket_type": ticket.ticket_type.value,
        "source": ticket.source.value,
        "external_ref": ticket.external_ref,
        "dr_number": ticket.dr_number,
        "dr_known": ticket.dr_known,
        "pole_number": ticket.pole_number,
        "pon_number": ticket.pon_number,
        "zone": ticket.zone,
        "project": project.name if project else None,
        "address": ticket.address,
        "latitude": ticket.latitude,
        "longitude": ticket.longitude,
        "assignee": person(assignee),
        "contractor": contractor.name if contractor else None,
        "ont_serial": ticket.ont_serial,
        "ont_rx_level_dbm": ticket.ont_rx_level_dbm,
        "ont_model": ticket.ont_model,
        "fault_cause": ticket.fault_cause.value if ticket.fault_cause else None,
        "fault_cause_details": ticket.fault_cause_details,
        "guarantee_status": ticket.guarantee_status,
        "guarantee_expires_at": _iso(ticket.guarantee_expires_at),
        "billing_classification": ticket.billing_classification,
        "is_billable": ticket.is_billable,
        "rectification_count": ticket.rectification_count,
        "qa_ready": ticket.qa_ready,
        "conditional_approval": ticket.conditional_approval,
        "hold_reason": ticket.hold_reason.value if ticket.hold_reason else None,
        "is_infrastructure": ticket.is_infrastructure,
        "verification": {
            "done": done,
            "total": len(steps),
            "steps": [
                {
                    "number": s.number,
                    "name": s.name,
                    "photo_required": s.photo_required,
                    "complete": s.complete,
                }
                for s in steps
            ],
        },
        "sla": {
            "policy": ticket.sla_policy,
            "response": _timer_json(views["response"] if views else None, ticket),
            "resolution": _timer_json(views["resolution"] if views else None, ticket),
        },
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
    }
