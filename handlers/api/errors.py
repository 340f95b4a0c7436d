"""JSON errors in the SPEC's shape, and the middleware that keeps stack traces from users."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from domain.errors import DomainError

log = logging.getLogger("ticketbot.http")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    503: "unavailable",
}


def error_response(
    status: int, message: str, *, code: str | None = None, details: Any = None
) -> web.Response:
    body = {"error": {"code": code or _STATUS_CODES.get(status, "error"), "message": message,
                      "details": details}}
    return web.Response(
        status=status, text=json.dumps(body, default=str), content_type="application/json"
    )


def database_unavailable(exc: BaseException) -> bool:
    """Connection-level failures (the database is down), as opposed to bad SQL."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (ConnectionError, OSError, TimeoutError)):
        return True
    name = type(exc).__name__
    return name in {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "TooManyConnectionsError",
    }


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        return error_response(exc.status, exc.reason or "error")
    except DomainError as exc:
        return error_response(exc.http_status, exc.message, code=exc.code, details=exc.details)
    except Exception as exc:
        if database_unavailable(exc):
            log.warning("database unavailable on %s: %s", request.path, exc)
            return error_response(503, "The database is not answering; try again shortly.")
        incident = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", incident, request.method, request.path)
        return error_response(
            500, f"Something went wrong on our side (incident {incident}).", code="internal"
        )
