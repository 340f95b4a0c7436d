"""REST API, reads (SPEC section 8). Bearer tokens; the same visibility rules as chat."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.bootstrap import Container
from domain.context import Actor
from domain.enums import Channel
from domain.errors import InvalidInput
from domain.model import User
from domain.services import tickets as ticket_service
from domain.services.people import hash_token
from domain.services.views import in_sla_states, ticket_json
from handlers import ticket_filters
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


def params_of(request: web.Request) -> ticket_filters.Params:
    return {name: request.query.getall(name) for name in set(request.query.keys())}


async def list_tickets(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    params = params_of(request)
    query = ticket_filters.parse(params)
    query.limit = _int(request, "limit", 50, 1, MAX_PAGE)
    query.offset = _int(request, "offset", 0, 0, 10_000_000)
    async with container.uow() as uow:
        await ticket_filters.resolve(uow, query, params, _user(request))
        ctx = container.context()
        if query.sla:
            # The SLA state depends on the clock; filter the open tickets in memory, then page.
            page_limit, page_offset = query.limit, query.offset
            query.limit, query.offset, query.open_only = 10_000, 0, True
            found, _ = await uow.tickets.search(query)
            await uow.tickets.load_holds([t.id for t in found])
            matching = [t for t in found if await in_sla_states(uow, ctx, t, query.sla)]
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
    # /attachments and the downloads: handlers/api/media.py
