"""A technician's field work on a ticket: start, evidence, readings, cause, hold, done, risk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from domain import permissions
from domain.billing import apply_billing
from domain.context import Actor, Context
from domain.enums import (
    AuditAction,
    FaultCause,
    HandoverType,
    HoldReason,
    RiskStatus,
    RiskType,
    Role,
    Status,
)
from domain.errors import Conflict, InvalidInput
from domain.model import Attachment, RiskAcceptance, Ticket, VerificationStep
from domain.permissions import Action
from domain.ports import UnitOfWork
from domain.readiness import ReadinessResult
from domain.services import tickets as ticket_service
from domain.services.audit import record
from domain.services.handovers import write_snapshot
from domain.services.readiness import refresh_steps, run_readiness
from domain.services.tickets import checklist as ticket_checklist
from domain.verification import progress_text
from domain.workflow import GuardContext

S = Status
MAX_RISK_DAYS = 90

# Readings a technician may send, and the ticket field each one fills.
READING_FIELDS = {
    "ont": "ont_serial",
    "rx": "ont_rx_level_dbm",
    "pole": "pole_number",
    "pon": "pon_number",
    "zone": "zone",
}


def _require_work(actor: Actor, ticket: Ticket) -> None:
    if actor.user is not None:
        permissions.require(actor.user, Action.WORK, ticket)


def _not_closed(ticket: Ticket) -> None:
    if ticket.status in (S.CLOSED, S.CANCELLED):
        raise Conflict(f"{ticket.ref} is {ticket.status.value}: nothing more can be added.")


async def start_work(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket) -> bool:
    """`start`: in progress, and the response timer is met. False if it already was."""
    _require_work(actor, ticket)
    if ticket.status is S.IN_PROGRESS:
        return False
    if ticket.status is S.ON_HOLD:
        raise Conflict(f"{ticket.ref} is on hold: say 'resume {ticket.ref}' first.")
    if ticket.status is S.OPEN and actor.user is not None and ticket.assignee_id is None:
        await ticket_service.assign(uow, ctx, actor, ticket, actor.user.id)
    await ticket_service.change_status(uow, ctx, actor, ticket, S.IN_PROGRESS)
    return True


async def acknowledge(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket) -> bool:
    return await ticket_service.acknowledge(uow, ctx, actor, ticket)


def _parse_reading(ticket: Ticket, kind: str, value: str) -> object:
    value = value.strip()
    if not value:
        raise InvalidInput(f"Send a value: {kind} {ticket.ref} <value>.")
    if kind == "rx":
        try:
            level = float(value.replace(",", ".").removesuffix("dBm").removesuffix("dbm"))
        except ValueError:
            raise InvalidInput(
                f"'{value}' is not an Rx level; send it in dBm, e.g. rx {ticket.ref} -21.4"
            ) from None
        if not -60.0 <= level <= 10.0:
            raise InvalidInput(f"{level} dBm is not a plausible Rx level (send e.g. -21.4).")
        return level
    if kind == "ont":
        return value.upper()[:100]
    return value[:60]


async def record_reading(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, kind: str, value: str
) -> str:
    _require_work(actor, ticket)
    _not_closed(ticket)
    field = READING_FIELDS.get(kind)
    if field is None:
        raise InvalidInput(f"Unknown reading '{kind}': use ont, rx, pole, pon or zone.")
    parsed = _parse_reading(ticket, kind, value)
    old = getattr(ticket, field)
    setattr(ticket, field, parsed)
    ticket.updated_at = ctx.now
    record(uow, ctx, actor, ticket, AuditAction.READING_RECORDED, {field: old}, {field: parsed})
    await refresh_steps(uow, ctx, actor, ticket)
    if kind == "rx":
        low, high = ctx.rx_range
        assert isinstance(parsed, float)
        if not low <= parsed <= high:
            return f"{parsed} dBm is outside {low} to {high} dBm: QA will not pass it."
    return ""


def check_fault_cause(actor: Actor, ticket: Ticket) -> None:
    """Why set_fault_cause would refuse, raised before anything is changed."""
    _require_work(actor, ticket)
    _not_closed(ticket)


async def set_fault_cause(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cause: FaultCause, details: str
) -> None:
    check_fault_cause(actor, ticket)
    details = details.strip()
    if not details and actor.channel.value != "import":
        raise InvalidInput(
            f"Say what happened too: cause {ticket.ref} {cause.value} <details>."
        )
    old = {"cause": ticket.fault_cause.value if ticket.fault_cause else None,
           "details": ticket.fault_cause_details}
    ticket.fault_cause = cause
    ticket.fault_cause_details = details or None
    ticket.updated_at = ctx.now
    await recompute_billing(uow, ctx, ticket)
    record(uow, ctx, actor, ticket, AuditAction.FAULT_CAUSE_SET, old,
           {"cause": cause.value, "details": details,
            "billing": ticket.billing_classification})


async def recompute_billing(uow: UnitOfWork, ctx: Context, ticket: Ticket) -> None:
    project = await uow.projects.by_id(ticket.project_id) if ticket.project_id else None
    register = await uow.drs.get(ticket.dr_number) if ticket.dr_number else None
    from zoneinfo import ZoneInfo

    apply_billing(ticket, project, register, ctx.now.astimezone(ZoneInfo(ctx.timezone)).date())


async def hold(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, reason: HoldReason,
    note: str | None,
) -> None:
    await ticket_service.change_status(
        uow, ctx, actor, ticket, S.ON_HOLD, reason=note, hold_reason=reason
    )


async def resume(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket) -> Status:
    if ticket.status is not S.ON_HOLD or ticket.held_from is None:
        raise Conflict(f"{ticket.ref} is not on hold (it is {ticket.status.value}).")
    target = ticket.held_from
    await ticket_service.change_status(uow, ctx, actor, ticket, target)
    return target


@dataclass
class Evidence:
    step: VerificationStep | None
    progress: str
    duplicate: bool = False


async def add_evidence(
    uow: UnitOfWork,
    ctx: Context,
    actor: Actor,
    ticket: Ticket,
    step_number: int | None,
    *,
    sha256: str | None = None,
    mimetype: str | None = None,
    size: int = 0,
    source_message_id: str | None = None,
    ok_text: str | None = None,
) -> Evidence:
    """A photo for a step, or an explicit 'ok' for a step that needs no photo."""
    _require_work(actor, ticket)
    _not_closed(ticket)
    steps = await ticket_checklist(uow, ticket)
    step = None
    if step_number is not None:
        step = next((s for s in steps if s.number == step_number), None)
        if step is None:
            raise InvalidInput(
                f"{ticket.ref} has steps 1 to {len(steps)}; there is no step {step_number}."
            )
    duplicate = False
    if sha256 is not None:
        existing = await uow.tickets.attachments(ticket.id)
        duplicate = any(a.sha256 == sha256 and a.step_number == step_number for a in existing)
        if not duplicate:
            await uow.tickets.add_attachment(
                Attachment(
                    ticket_id=ticket.id,
                    sha256=sha256,
                    mimetype=mimetype or "application/octet-stream",
                    size=size,
                    created_at=ctx.now,
                    step_number=step_number,
                    uploaded_by_id=actor.id,
                    source_message_id=source_message_id,
                )
            )
            await uow.flush()
            record(uow, ctx, actor, ticket, AuditAction.ATTACHMENT_ADDED, None,
                   {"sha256": sha256, "step": step_number, "mimetype": mimetype})
    elif step is not None:
        if step.photo_required:
            raise InvalidInput(
                f"Step {step.number} ({step.name}) needs a photo: send it captioned "
                f"'{ticket.ref} step {step.number}'."
            )
        step.notes = (ok_text or "ok").strip()[:500]
        step.complete = True
        step.completed_at = ctx.now
        step.completed_by_id = actor.id
        record(uow, ctx, actor, ticket, AuditAction.STEP_COMPLETED, None,
               {"step": step.number, "name": step.name, "note": step.notes})
    ticket.updated_at = ctx.now
    steps = await refresh_steps(uow, ctx, actor, ticket)
    step = next((s for s in steps if s.number == step_number), None) if step_number else None
    return Evidence(step, progress_text(steps), duplicate)


async def submit_done(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket
) -> ReadinessResult:
    """`done`: the readiness check; a pass is the build_to_qa handover into pending_qa
    (which QA may also make: SPEC 3.10)."""
    if actor.user is not None and actor.user.role is Role.QA:
        permissions.require(actor.user, Action.HANDOVER_QA, ticket)
    else:
        _require_work(actor, ticket)
    if ticket.status in (S.PENDING_QA, S.QA_IN_PROGRESS):
        raise Conflict(f"{ticket.ref} is already with QA ({ticket.status.value}).")
    if ticket.status is S.ON_HOLD:
        raise Conflict(f"{ticket.ref} is on hold: say 'resume {ticket.ref}' first.")
    if ticket.status in (S.ASSIGNED, S.QA_REJECTED):
        await ticket_service.change_status(uow, ctx, actor, ticket, S.IN_PROGRESS)
    if ticket.status is not S.IN_PROGRESS:
        raise Conflict(f"{ticket.ref} is {ticket.status.value}: 'done' is for work in progress.")
    result = await run_readiness(uow, ctx, actor, ticket)
    if result.passed:
        await ticket_service.change_status(
            uow, ctx, actor, ticket, S.PENDING_QA, guard=GuardContext(readiness_passed=True)
        )
        await write_snapshot(uow, ctx, actor, ticket, HandoverType.BUILD_TO_QA)
    return result


async def request_risk(
    uow: UnitOfWork,
    ctx: Context,
    actor: Actor,
    ticket: Ticket,
    risk_type: RiskType,
    expires_on: date,
    description: str,
    conditions: str | None = None,
    followup_on: date | None = None,
) -> RiskAcceptance:
    if actor.user is not None:
        permissions.require(actor.user, Action.REQUEST_RISK, ticket)
    _not_closed(ticket)
    from zoneinfo import ZoneInfo

    today = ctx.now.astimezone(ZoneInfo(ctx.timezone)).date()
    if expires_on <= today:
        raise InvalidInput(f"The expiry {expires_on.isoformat()} must be after today.")
    if expires_on > today + timedelta(days=MAX_RISK_DAYS):
        raise InvalidInput(
            f"A risk acceptance may run at most {MAX_RISK_DAYS} days "
            f"(until {(today + timedelta(days=MAX_RISK_DAYS)).isoformat()})."
        )
    if followup_on is not None and not today <= followup_on <= expires_on:
        raise InvalidInput("The follow-up date must fall between today and the expiry.")
    if not description.strip():
        raise InvalidInput(
            f"Describe the risk: risk {ticket.ref} {risk_type.value} until "
            f"{expires_on.isoformat()} <description>."
        )
    risk = RiskAcceptance(
        ticket_id=ticket.id,
        risk_type=risk_type.value,
        description=description.strip()[:2000],
        expires_on=expires_on,
        status=RiskStatus.PENDING_APPROVAL.value,
        requested_by_id=actor.id or 0,
        created_at=ctx.now,
        conditions=conditions,
        followup_on=followup_on,
        requested_channel=actor.channel.value,
    )
    await uow.tickets.add_risk(risk)
    await uow.flush()
    record(uow, ctx, actor, ticket, AuditAction.RISK_REQUESTED, None,
           {"risk_id": risk.id, "type": risk.risk_type, "expires_on": expires_on.isoformat()})
    return risk
