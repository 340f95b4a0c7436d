"""REST writes (SPEC 8): the chat commands over HTTP, with the same services and checks."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from domain.context import Actor
from domain.enums import (
    Channel,
    FaultCause,
    HandoverType,
    HoldReason,
    Priority,
    RiskType,
    Source,
    Status,
    TicketType,
    parse_priority,
)
from domain.errors import InvalidInput
from domain.services import qa as qa_service
from domain.services import tickets as ticket_service
from domain.services import work
from domain.services.moves import move
from domain.services.people import find_user
from domain.services.readiness import run_readiness
from domain.services.views import ticket_json
from handlers.api.errors import error_response
from handlers.api.rest import CONTAINER, USER_KEY
from handlers.approvals import announce_decision, announce_risk

MAX_UPLOAD = 20 * 1024 * 1024
MAX_JSON = 1024 * 1024


class TooLarge(InvalidInput):
    code = "too_large"
    http_status = 413


def _priority(value: Any) -> Any:
    """Accept the aliases people use (medium, P1..P4) as chat does."""
    if isinstance(value, str):
        return parse_priority(value) or value
    return value


PriorityIn = Annotated[Priority, BeforeValidator(_priority)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateTicket(_Body):
    dr_number: str | None = Field(None, max_length=40)
    title: str | None = Field(None, max_length=300)
    description: str | None = Field(None, max_length=10_000)
    priority: PriorityIn = Priority.NORMAL
    ticket_type: TicketType = TicketType.MAINTENANCE
    external_ref: str | None = Field(None, max_length=40)
    assignee: str | None = Field(None, max_length=100)


class UpdateTicket(_Body):
    title: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=10_000)
    priority: PriorityIn | None = None
    address: str | None = Field(None, max_length=500)


class AssignBody(_Body):
    assignee: str = Field(min_length=1, max_length=100)


class StatusBody(_Body):
    status: Status
    reason: str | None = Field(None, max_length=2000)
    hold_reason: HoldReason | None = None


class NoteBody(_Body):
    text: str = Field(min_length=1, max_length=4000)


class ReadingBody(_Body):
    kind: str = Field(pattern="^(ont|rx|pole|pon|zone)$")
    value: str = Field(min_length=1, max_length=100)


class CauseBody(_Body):
    cause: FaultCause
    details: str = Field(min_length=1, max_length=4000)


class RiskBody(_Body):
    risk_type: RiskType
    expires_on: date
    description: str = Field(min_length=1, max_length=2000)
    conditions: str | None = Field(None, max_length=2000)
    followup_on: date | None = None


class DecisionBody(_Body):
    approve: bool
    reason: str | None = Field(None, max_length=2000)


class ResolveBody(_Body):
    notes: str = Field(min_length=1, max_length=2000)


class EscalateBody(_Body):
    reason: str | None = Field(None, max_length=2000)  # optional, as in chat


class HandoverBody(_Body):
    type: HandoverType


async def _body(request: web.Request, model: type[_Body]) -> Any:
    if (request.content_length or 0) > MAX_JSON:
        raise TooLarge("The body is larger than 1 MB.")
    try:
        raw = await request.read()
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("The body is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                   for e in exc.errors(include_url=False, include_input=False)]
        raise InvalidInput("The body does not fit: " + "; ".join(
            f"{d['field']}: {d['message']}" for d in details), details=details) from None


def _actor(request: web.Request) -> Actor:
    return Actor(request[USER_KEY], Channel.API)


async def _respond_with_ticket(request: web.Request, uow: Any, ticket: Any,
                               status: int = 200, extra: dict | None = None) -> web.Response:
    ctx = request.app[CONTAINER].context()
    body = await ticket_json(uow, ctx, ticket)
    if extra:
        body.update(extra)
    return web.json_response(body, status=status)


def _wake(request: web.Request) -> None:
    from bot.app import RUNTIME

    runtime = request.app.get(RUNTIME)
    if runtime is not None:
        runtime.wake_worker()


async def create(request: web.Request) -> web.Response:
    body = await _body(request, CreateTicket)
    container = request.app[CONTAINER]
    async with container.uow() as uow:
        ctx = container.context()
        assignee_id = (await find_user(uow, body.assignee)).id if body.assignee else None
        created = await ticket_service.create_ticket(uow, ctx, _actor(request),
                                                     ticket_service.NewTicket(
            title=body.title, description=body.description, dr_number=body.dr_number,
            priority=body.priority, ticket_type=body.ticket_type, source=Source.API,
            external_ref=body.external_ref, assignee_id=assignee_id))
        await uow.commit()
        container.metrics.tickets_created.labels("api").inc()
        response = await _respond_with_ticket(request, uow, created.ticket, 201,
                                              {"warnings": created.warnings})
    _wake(request)
    return response


def _ticket_action(model: type[_Body] | None, action: Any, taking: Any = None) -> Any:
    """`taking(uow, actor, body)`: whether the request takes the ticket, which finds it even
    where the actor could not see it yet (a technician taking an open ticket)."""
    async def handler(request: web.Request) -> web.Response:
        body = await _body(request, model) if model else None
        container = request.app[CONTAINER]
        actor = _actor(request)
        async with container.uow() as uow:
            ctx = container.context()
            ticket = await ticket_service.find_visible(
                uow, actor, request.match_info["ref"], for_update=True,
                taking=bool(taking and await taking(uow, actor, body)))
            extra = await action(uow, ctx, actor, ticket, body)
            await uow.commit()
            if isinstance(extra, _Refused):  # what was checked is kept; the move is refused
                response = error_response(409, extra.message, details=extra.details)
            else:
                response = await _respond_with_ticket(request, uow, ticket, extra=extra)
        _wake(request)
        return response

    return handler


async def _update(uow, ctx, actor, ticket, body: UpdateTicket) -> dict:
    from domain import permissions
    from domain.enums import AuditAction
    from domain.permissions import Action
    from domain.services.audit import record

    permissions.require(actor.user, Action.WORK if actor.user.role.value in (
        "technician", "contractor") else Action.NOTE, ticket)
    changes = {}
    for field in ("title", "description", "address"):
        value = getattr(body, field)
        if value is not None and getattr(ticket, field) != value:
            changes[field] = (getattr(ticket, field), value)
            setattr(ticket, field, value)
    if changes:
        ticket.updated_at = ctx.now
        record(uow, ctx, actor, ticket, AuditAction.UPDATED,
               {k: o for k, (o, _) in changes.items()}, {k: n for k, (_, n) in changes.items()})
    if body.priority is not None and body.priority is not ticket.priority:
        await ticket_service.set_priority(uow, ctx, actor, ticket, body.priority)
    return {}


async def _assigns_self(uow, actor, body: AssignBody) -> bool:
    return (await find_user(uow, body.assignee)).id == actor.id


async def _assign(uow, ctx, actor, ticket, body: AssignBody) -> dict:
    person = await find_user(uow, body.assignee)
    await ticket_service.assign(uow, ctx, actor, ticket, person.id)
    return {}


@dataclass
class _Refused:
    """A refusal that still commits what led to it (a failed readiness check is recorded)."""

    message: str
    details: Any


async def _status(uow, ctx, actor, ticket, body: StatusBody) -> dict | _Refused:
    result = await move(uow, ctx, actor, ticket, body.status, reason=body.reason,
                        hold_reason=body.hold_reason)
    if result is None:
        return {}
    if not result.passed:
        failed = ", ".join(c.name for c in result.checks if c.blocking and not c.passed)
        return _Refused(f"{ticket.ref} is not ready for QA: {failed}. It stays "
                        f"{ticket.status.value}.", {"readiness": result.to_json()})
    return {"readiness": result.to_json()}


async def _note(uow, ctx, actor, ticket, body: NoteBody) -> dict:
    await ticket_service.add_note(uow, ctx, actor, ticket, body.text)
    return {}


async def _reading(uow, ctx, actor, ticket, body: ReadingBody) -> dict:
    warning = await work.record_reading(uow, ctx, actor, ticket, body.kind, body.value)
    return {"warnings": [warning] if warning else []}


async def _cause(uow, ctx, actor, ticket, body: CauseBody) -> dict:
    await work.set_fault_cause(uow, ctx, actor, ticket, body.cause, body.details)
    return {}


async def _risk(uow, ctx, actor, ticket, body: RiskBody) -> dict:
    risk = await work.request_risk(uow, ctx, actor, ticket, body.risk_type, body.expires_on,
                                   body.description, body.conditions, body.followup_on)
    await announce_risk(uow, ctx, risk, ticket, actor)
    return {"risk_id": risk.id}


async def _handover(uow, ctx, actor, ticket, body: HandoverBody) -> dict:
    warnings = await qa_service.handover(uow, ctx, actor, ticket, body.type)
    return {"warnings": warnings}


async def _readiness(uow, ctx, actor, ticket, body: None) -> dict:
    from domain import permissions
    from domain.permissions import Action

    permissions.require(actor.user, Action.VIEW, ticket)
    result = await run_readiness(uow, ctx, actor, ticket)
    return {"readiness": {"passed": result.passed, "checks": result.to_json()}}


def _risk_id(request: web.Request) -> int:
    try:
        risk_id = int(request.match_info["risk_id"])
    except ValueError:
        raise InvalidInput("A risk acceptance id is a whole number.") from None
    if not 0 < risk_id < 2**63:
        raise InvalidInput("No such risk acceptance id.")
    return risk_id


async def decide_risk(request: web.Request) -> web.Response:
    body = await _body(request, DecisionBody)
    container = request.app[CONTAINER]
    risk_id = _risk_id(request)
    async with container.uow() as uow:
        ctx = container.context()
        risk, ticket = await qa_service.decide_risk(uow, ctx, _actor(request), risk_id,
                                                    body.approve, body.reason)
        await announce_decision(uow, ctx, risk, ticket, request[USER_KEY])
        await uow.commit()
    _wake(request)
    return web.json_response({"id": risk.id, "ticket": ticket.ref, "status": risk.status})


async def resolve_risk(request: web.Request) -> web.Response:
    body = await _body(request, ResolveBody)
    container = request.app[CONTAINER]
    risk_id = _risk_id(request)
    async with container.uow() as uow:
        risk, ticket = await qa_service.resolve_risk(uow, container.context(), _actor(request),
                                                     risk_id, body.notes)
        await uow.commit()
    _wake(request)
    return web.json_response({"id": risk.id, "ticket": ticket.ref, "status": risk.status})


async def _escalate(uow, ctx, actor, ticket, body: EscalateBody) -> dict:
    from domain.services.sla_engine import escalate_now

    return {"escalated_to": await escalate_now(uow, ctx, actor, ticket, body.reason)}


async def _ack(uow, ctx, actor, ticket, body: None) -> dict:
    return {"acknowledged": await ticket_service.acknowledge(uow, ctx, actor, ticket)}


# --- imports and exports ---------------------------------------------------------------------


async def upload_weekly(request: web.Request) -> web.Response:
    from domain import permissions
    from domain.permissions import Action
    from domain.services.imports import import_weekly
    from handlers.imports.reader_process import rows_in_child
    from handlers.imports.weekly_reader import WorkbookError, read_weekly

    user = request[USER_KEY]
    permissions.require(user, Action.IMPORT)
    if not request.content_type.startswith("multipart/"):
        return error_response(415, "Send the workbook as multipart/form-data (field 'file').")
    data, filename = None, None
    try:
        reader = await request.multipart()
        async for part in reader:
            if part.name == "file":
                filename = part.filename
                data = await part.read(decode=False)
                if len(data) > MAX_UPLOAD:
                    return error_response(413, "The workbook is larger than 20 MB.")
    except Exception as exc:  # aiohttp's parser raises several kinds for broken uploads
        return error_response(400, f"The upload is not valid multipart data "
                                   f"({type(exc).__name__}).")
    if data is None:
        return error_response(422, "No 'file' field in the upload.", code="invalid")
    try:
        sheet = read_weekly(io.BytesIO(data))  # a file that is not a workbook is refused here
        sheet.close()
    except WorkbookError as exc:
        return error_response(422, str(exc), code="invalid_workbook")
    container = request.app[CONTAINER]
    dry_run = request.query.get("dry_run", "").lower() in ("1", "true", "yes")
    try:
        summary = await import_weekly(container.uow, container.context(), _actor(request),
                                      rows_in_child(data), sheet.columns, filename=filename,
                                      dry_run=dry_run)
    except WorkbookError as exc:
        return error_response(422, f"{exc} Rows before the damage were applied; importing "
                                   "again is safe.", code="invalid_workbook")
    _wake(request)
    return web.json_response(summary.to_json(), status=200 if dry_run else 201)


async def get_import(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    async with container.uow() as uow:
        report = await uow.imports.report(request.match_info["uid"])
    if report is None:
        return error_response(404, "No such import.")
    return web.json_response(report)


async def export(request: web.Request) -> web.StreamResponse:
    from domain.services.exports import export_rows
    from handlers import ticket_filters
    from handlers.api.rest import params_of
    from handlers.exports.tickets_writer import EXPORT_COLUMNS, XlsxStream, csv_cells

    fmt = request.match_info["fmt"]
    params = params_of(request)
    query = ticket_filters.parse(params)  # the list's filters, refused as the list refuses them
    container = request.app[CONTAINER]
    async with container.uow() as uow:
        await ticket_filters.resolve(uow, query, params, request[USER_KEY])
    rows = export_rows(container.uow, container.context(), query)
    if fmt == "csv":
        import csv

        response = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="tickets.csv"'})
        await response.prepare(request)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([h for h, _ in EXPORT_COLUMNS])
        async for row in rows:
            writer.writerow(csv_cells(row))
            if buffer.tell() > 64_000:
                await response.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
        await response.write(buffer.getvalue().encode())
        await response.write_eof()
        return response
    stream = XlsxStream()
    async for row in rows:
        stream.add(row)
    out = io.BytesIO()
    stream.save(out)
    return web.Response(body=out.getvalue(), headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": 'attachment; filename="tickets.xlsx"'})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/tickets", create)
    r.add_patch("/api/v1/tickets/{ref}", _ticket_action(UpdateTicket, _update))
    r.add_post("/api/v1/tickets/{ref}/assign", _ticket_action(AssignBody, _assign, _assigns_self))
    r.add_post("/api/v1/tickets/{ref}/status", _ticket_action(StatusBody, _status))
    r.add_post("/api/v1/tickets/{ref}/notes", _ticket_action(NoteBody, _note))
    r.add_post("/api/v1/tickets/{ref}/readings", _ticket_action(ReadingBody, _reading))
    r.add_post("/api/v1/tickets/{ref}/fault-cause", _ticket_action(CauseBody, _cause))
    r.add_post("/api/v1/tickets/{ref}/risks", _ticket_action(RiskBody, _risk))
    r.add_post("/api/v1/tickets/{ref}/handovers", _ticket_action(HandoverBody, _handover))
    r.add_post("/api/v1/tickets/{ref}/readiness", _ticket_action(None, _readiness))
    r.add_post("/api/v1/tickets/{ref}/escalate", _ticket_action(EscalateBody, _escalate))
    r.add_post("/api/v1/tickets/{ref}/ack", _ticket_action(None, _ack))
    r.add_post("/api/v1/risks/{risk_id}/decision", decide_risk)
    r.add_post("/api/v1/risks/{risk_id}/resolve", resolve_risk)
    r.add_post("/api/v1/imports/weekly", upload_weekly)
    r.add_get("/api/v1/imports/{uid}", get_import)
    r.add_get("/api/v1/exports/tickets.{fmt:xlsx|csv}", export)


BODIES = {
    "CreateTicket": CreateTicket, "UpdateTicket": UpdateTicket, "AssignBody": AssignBody,
    "StatusBody": StatusBody, "NoteBody": NoteBody, "ReadingBody": ReadingBody,
    "CauseBody": CauseBody, "RiskBody": RiskBody, "DecisionBody": DecisionBody,
    "HandoverBody": HandoverBody, "ResolveBody": ResolveBody, "EscalateBody": EscalateBody,
}
