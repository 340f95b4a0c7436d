"""REST API, reads (SPEC section 8). Bearer tokens; the same visibility rules as chat."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.bootstrap import Container
from domain import permissions
from domain.context import Actor
from domain.enums import Channel, Priority, Status, TimerState
from domain.errors import InvalidInput
from domain.model import User
from domain.ports import TicketQuery
from domain.services import tickets as ticket_service
from domain.services.people import find_user, hash_token
from domain.services.views import ticket_json, timers
from handlers.api.errors import error_response
from storage import queries
from storage import tables as t

CONTAINER = web.AppKey("container", Container)
USER_KEY = web.RequestKey("user", User)
MAX_PAGE = 200


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/api/v1/") or request.path == "/api/v1/openapi.json":
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error_response(401, "Send a token: Authorization: Bearer <token>.")
    container = request.app[CONTAINER]
    async with container.uow() as uow:
        user = await queries.user_for_token(
            uow.session, hash_token(token.strip()), container.clock()
        )
    if user is None:
        return error_response(401, "That token is not valid (revoked, or never issued).")
    request[USER_KEY] = user
    return await handler(request)


def _user(request: web.Request) -> User:
    return request[USER_KEY]


def _enum_list(request: web.Request, name: str, enum: Any, parse: Any = None) -> list[Any]:
    values = []
    for raw in request.query.getall(name, []):
        for part in raw.split(","):
            if not part.strip():
                continue
            value = parse(part) if parse else None
            if value is None:
                try:
                    value = enum(part.strip().lower())
                except ValueError:
                    allowed = ", ".join(e.value for e in enum)
                    raise InvalidInput(
                        f"'{part}' is not a valid {name}; use {allowed}.",
                        details={"parameter": name},
                    ) from None
            values.append(value)
    return values


def _int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number.", details={"parameter": name}) from None
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} must be between {lo} and {hi}.", details={"parameter": name})
    return value


async def list_tickets(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    user = _user(request)
    q = request.query
    from domain.enums import parse_priority

    sla_states = _enum_list(request, "sla", TimerState)
    if any(s not in (TimerState.ON_TRACK, TimerState.NEAR_BREACH, TimerState.BREACHED)
           for s in sla_states):
        raise InvalidInput("sla must be on_track, near_breach or breached.")
    query = TicketQuery(
        status=_enum_list(request, "status", Status),
        priority=_enum_list(request, "priority", Priority, parse_priority),
        zone=q.get("zone") or None,
        dr=q.get("dr") or None,
        pole=q.get("pole") or None,
        pon=q.get("pon") or None,
        text=q.get("q") or None,
        limit=_int(request, "limit", 50, 1, MAX_PAGE),
        offset=_int(request, "offset", 0, 0, 10_000_000),
    )
    if query.dr:
        from domain.refs import normalise_dr

        query.dr = normalise_dr(query.dr) or query.dr
    if not permissions.can_see_all(user):
        query.visible_to = (user.id, user.contractor_id if user.role.value == "contractor"
                            else None)
    async with container.uow() as uow:
        if q.get("assignee"):
            if q["assignee"] == "none":
                query.unassigned = True
            else:
                query.assignee_id = (await find_user(uow, q["assignee"])).id
        if q.get("contractor"):
            contractor = await uow.users.contractor(q["contractor"])
            query.contractor_id = contractor.id if contractor else -1
        if q.get("project"):
            project = await uow.projects.by_name(q["project"])
            query.project_id = project.id if project else -1
        ctx = container.context()
        if sla_states:
            # The SLA state depends on the clock; filter the open tickets in memory, then page.
            page_limit, page_offset = query.limit, query.offset
            query.limit, query.offset, query.open_only = 10_000, 0, True
            found, _ = await uow.tickets.search(query)
            matching = []
            for ticket in found:
                views = await timers(uow, ctx, ticket)
                if views and {v.state for v in views.values()} & set(sla_states):
                    matching.append(ticket)
            total = len(matching)
            found = matching[page_offset : page_offset + page_limit]
            query.limit, query.offset = page_limit, page_offset
        else:
            found, total = await uow.tickets.search(query)
        items = [await ticket_json(uow, ctx, ticket) for ticket in found]
    return web.json_response(
        {"items": items, "total": total, "limit": query.limit, "offset": query.offset}
    )


async def _visible_ticket(request: web.Request, uow: Any) -> Any:
    actor = Actor(_user(request), Channel.API)
    return await ticket_service.find_visible(uow, actor, request.match_info["ref"])


async def get_ticket(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    async with container.uow() as uow:
        ticket = await _visible_ticket(request, uow)
        body = await ticket_json(uow, container.context(), ticket)
    return web.json_response(body)


async def get_audit(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    async with container.uow() as uow:
        ticket = await _visible_ticket(request, uow)
        events = await queries.audit_for_ticket(uow.session, ticket.id)
    return web.json_response({"ref": ticket.ref, "items": events})


def _rows_handler(table: Any, drop: tuple[str, ...] = ()) -> Any:
    async def handler(request: web.Request) -> web.Response:
        container = request.app[CONTAINER]
        async with container.uow() as uow:
            ticket = await _visible_ticket(request, uow)
            rows = await queries.rows_for_ticket(uow.session, table, ticket.id)
        items = [{k: v for k, v in row.items() if k not in drop} for row in rows]
        return web.json_response({"ref": ticket.ref, "items": items})

    return handler


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/tickets", list_tickets)
    app.router.add_get("/api/v1/tickets/{ref}", get_ticket)
    app.router.add_get("/api/v1/tickets/{ref}/audit", get_audit)
    app.router.add_get("/api/v1/tickets/{ref}/handovers", _rows_handler(t.handover_snapshots))
    app.router.add_get("/api/v1/tickets/{ref}/risks", _rows_handler(t.risk_acceptances))
    app.router.add_get("/api/v1/tickets/{ref}/attachments", _rows_handler(t.attachments))
