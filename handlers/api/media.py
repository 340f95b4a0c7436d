"""Attachments over HTTP (SPEC 8): the list with signed links, the download with a token, and
the signed link itself, which needs no token until it expires."""

from __future__ import annotations

import asyncio
import logging
import os
import re

from aiohttp import web

from domain.context import Actor
from domain.enums import Channel
from domain.errors import NotFound
from domain.media_links import PATH_PREFIX, LinkCheck
from domain.model import Attachment
from domain.services import tickets as ticket_service
from handlers.api.errors import error_response
from handlers.api.rest import CONTAINER, USER_KEY
from handlers.whatsapp.media import path_of
from storage import queries
from storage import tables as t

log = logging.getLogger("ticketbot.media")

CHUNK_BYTES = 256 * 1024
_ID = r"{attachment_id:\d{1,18}}"  # at most 18 digits: always a valid BIGINT
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
               "image/webp": ".webp", "image/heic": ".heic", "application/pdf": ".pdf"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def filename_for(attachment: Attachment, ref: str) -> str:
    """The name a browser saves it under: the uploaded name if any, else ref, step and id."""
    if attachment.filename:
        name = _UNSAFE.sub("_", attachment.filename).strip("._")[:120]
        if name:
            return name
    step = f"-step{attachment.step_number}" if attachment.step_number is not None else ""
    return f"{ref}{step}-{attachment.id}{_EXTENSIONS.get(attachment.mimetype, '')}"


async def list_attachments(request: web.Request) -> web.Response:
    """`GET /api/v1/tickets/{ref}/attachments`: each with a signed `url` to open it."""
    container = request.app[CONTAINER]
    links = await container.media_links()
    async with container.uow() as uow:
        actor = Actor(request[USER_KEY], Channel.API)
        ticket = await ticket_service.find_visible(uow, actor, request.match_info["ref"])
        rows = await queries.rows_for_ticket(uow.session, t.attachments, ticket.id)
    now = container.clock()
    expires = links.expiry(now)
    for row in rows:
        row["url"] = links.url(row["id"], now)
        row["url_expires_at"] = expires
    return web.json_response({"ref": ticket.ref, "items": rows})


async def download(request: web.Request) -> web.StreamResponse:
    """`GET /api/v1/tickets/{ref}/attachments/{id}` with a token; the ticket's visibility."""
    container = request.app[CONTAINER]
    attachment_id = int(request.match_info["attachment_id"])
    async with container.uow() as uow:
        actor = Actor(request[USER_KEY], Channel.API)
        ticket = await ticket_service.find_visible(uow, actor, request.match_info["ref"])
        found = await queries.attachment(uow.session, attachment_id)
    if found is None or found[0].ticket_id != ticket.id:
        raise NotFound(f"{ticket.ref} has no attachment {attachment_id}.")
    return await _send(request, found[0], found[1])


async def signed(request: web.Request) -> web.StreamResponse:
    """`GET /media/{id}?expires=&sig=`: no token; the signature is the permission."""
    container = request.app[CONTAINER]
    attachment_id = int(request.match_info["attachment_id"])
    links = await container.media_links()
    verdict = links.check(attachment_id, request.query.get("expires"),
                          request.query.get("sig"), container.clock())
    if verdict is LinkCheck.EXPIRED:
        return error_response(403, "This link has expired; open the ticket again for a fresh "
                                   "one.", details={"reason": "expired"})
    if verdict is not LinkCheck.OK:
        return error_response(403, "This link is not valid.",
                              details={"reason": "bad_signature"})
    async with container.uow() as uow:
        found = await queries.attachment(uow.session, attachment_id)
    if found is None:
        raise NotFound(f"No attachment {attachment_id}.")
    return await _send(request, found[0], found[1], cache="private, max-age=3600")


async def _send(request: web.Request, attachment: Attachment, ref: str,
                cache: str = "private, no-cache") -> web.StreamResponse:
    """Stream the stored file in chunks (never read whole), labelled from the database."""
    container = request.app[CONTAINER]
    if not _SHA256.match(attachment.sha256):
        raise NotFound(f"Attachment {attachment.id} has no stored file.")
    path = path_of(container.settings.media_dir, attachment.sha256)
    loop = asyncio.get_running_loop()
    try:
        # Opened and closed here, not in a thread: a request cancelled mid-way (the client
        # went, the server stops) must never leave the file open.
        handle = open(path, "rb")  # noqa: ASYNC230, SIM115 (a local open; closed below)
    except (FileNotFoundError, IsADirectoryError):
        log.warning("attachment %s: file %s is missing from the media store",
                    attachment.id, path)
        raise NotFound(f"The file of attachment {attachment.id} is missing.") from None
    try:
        size = os.fstat(handle.fileno()).st_size
        etag = f'"{attachment.sha256}"'
        headers = {
            "ETag": etag,
            "Cache-Control": cache,
            "Content-Disposition": f'inline; filename="{filename_for(attachment, ref)}"',
            "X-Content-Type-Options": "nosniff",
            # Evidence is people's uploads: never let a document run anything here.
            "Content-Security-Policy": "sandbox",
        }
        if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
            return web.Response(status=304, headers=headers)
        response = web.StreamResponse(headers=headers)
        response.content_type = attachment.mimetype
        response.content_length = size
        await response.prepare(request)
        if request.method != "HEAD":
            while chunk := await loop.run_in_executor(None, handle.read, CHUNK_BYTES):
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        handle.close()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/tickets/{ref}/attachments", list_attachments)
    app.router.add_get(f"/api/v1/tickets/{{ref}}/attachments/{_ID}", download)
    app.router.add_get(f"{PATH_PREFIX}{_ID}", signed)
