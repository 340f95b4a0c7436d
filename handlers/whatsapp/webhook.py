"""`POST /webhooks/waha`: WAHA's events in, idempotently, never a 500 (SPEC 5 and 9)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.bootstrap import Container
from domain import refs
from domain.enums import Channel
from handlers.api.errors import error_response
from handlers.chat import Inbound, respond
from handlers.whatsapp import media as media_store
from handlers.whatsapp.client import MediaError, WahaClient
from handlers.whatsapp.envelope import (
    ACK_STATUS,
    EnvelopeError,
    MessagePayload,
    parse_ack,
    parse_envelope,
    parse_message,
)
from storage import inbox_store
from storage import tables as t

log = logging.getLogger("ticketbot.whatsapp")

# Events applied inline at once; beyond this, a burst is stored and answered straight away.
INLINE_LIMIT = 8
# WAHA events carry media by URL, so a real one is a few kilobytes.
MAX_WEBHOOK_BYTES = 1024 * 1024

def verify_hmac(key: str, body: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    expected = hmac.new(key.encode(), body, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


@dataclass
class Outcome:
    status: str  # handled | duplicate | ignored | queued
    replies: list[str]
    settled: bool = False  # a stored event was marked applied with its effects


class WhatsAppDoor:
    def __init__(self, container: Container, client: WahaClient | None,
                 on_queued: Any = None, on_stored: Any = None) -> None:
        self.container = container
        self.client = client
        self.on_queued = on_queued or (lambda: None)
        # With an inbox worker (serve), a burst of message events is stored and applied by
        # it; without one, every event is applied while WAHA waits.
        self.on_stored = on_stored
        self.applying = 0  # events being applied inline right now

    # --- HTTP ------------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
            return error_response(413, "The event is larger than 1 MB.")
        body = await request.content.read(MAX_WEBHOOK_BYTES + 1)
        if len(body) > MAX_WEBHOOK_BYTES:
            return error_response(413, "The event is larger than 1 MB.")
        key = self.container.settings.waha_webhook_hmac_key
        if key and not verify_hmac(key, body, request.headers.get("X-Webhook-Hmac")):
            return error_response(401, "Missing or wrong X-Webhook-Hmac.")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            log.warning("waha webhook: body is not JSON (%d bytes)", len(body))
            return error_response(400, "The body is not JSON.")
        try:
            envelope = parse_envelope(data)
            if envelope.event in ("message", "message.any"):
                message = parse_message(envelope.payload)
                if await self._inline(message):
                    self.applying += 1
                    try:
                        outcome = await self.on_message(message)
                    finally:
                        self.applying -= 1
                else:
                    outcome = await self.store(message, envelope.payload)
            elif envelope.event == "message.ack":
                outcome = await self.on_ack(envelope.payload)
            else:
                outcome = Outcome("ignored", [])
        except EnvelopeError as exc:
            log.warning("waha webhook refused: %s", exc)
            return error_response(422, f"Not a WAHA event this service can read: {exc}")
        return web.json_response({"status": outcome.status})

    # --- events ----------------------------------------------------------------------------

    async def _inline(self, message: MessagePayload) -> bool:
        """Apply now, while WAHA waits, unless a burst is on: then the event is stored for the
        inbox worker, and so is every later one of a chat that has events waiting (order)."""
        if self.on_stored is None or message.fromMe:
            return True
        if self.applying >= INLINE_LIMIT:
            return False
        async with self.container.sessions() as s:
            return not await inbox_store.has_waiting(s, message.from_)

    async def store(self, message: MessagePayload, payload: Any) -> Outcome:
        """Keep the event for the inbox worker: one statement, then WAHA has its answer."""
        async with self.container.engine.begin() as conn:
            new = await inbox_store.enqueue(conn, f"waha:{message.id}", message.from_,
                                            payload, self.container.clock())
        if not new:
            return Outcome("duplicate", [])
        self.on_stored()
        return Outcome("queued", [])

    async def apply_stored(self, payload: dict[str, Any], event_id: int) -> bool:
        """What the inbox worker does with a stored event; True if that settled it."""
        outcome = await self.on_message(parse_message(payload), inbox_id=event_id)
        return outcome.settled

    async def on_ack(self, payload: Any) -> Outcome:
        ack = parse_ack(payload)
        status = ACK_STATUS.get(ack.ack)
        if status is None:
            return Outcome("ignored", [])
        async with self.container.uow() as uow:
            await uow.inbound.set_delivery_status(ack.id, status)
            await uow.commit()
        return Outcome("handled", [])

    async def _phone_of(self, sender: str) -> str | None:
        if sender.endswith("@lid"):
            async with self.container.uow() as uow:
                cached = await uow.inbound.lid_phone(sender)
            if cached:
                return cached
            phone = await self.client.lid_phone(sender) if self.client else None
            if phone:
                async with self.container.uow() as uow:
                    await uow.inbound.remember_lid(sender, phone, self.container.clock())
                    await uow.commit()
            return phone
        try:
            return refs.normalise_phone(sender)
        except refs.PhoneError:
            return None

    async def _seen(self, key: str) -> bool:
        async with self.container.uow() as uow:
            row = await uow.session.execute(
                select(t.inbound_events.c.key).where(t.inbound_events.c.key == key)
            )
            return row.first() is not None

    async def on_message(self, message: MessagePayload, *, reply_by_outbox: bool = True,
                         inbox_id: int | None = None) -> Outcome:
        if message.fromMe:
            return Outcome("ignored", [])
        key = f"waha:{message.id}"
        # The transaction that applies the message records its id (chat.respond); this early
        # look only spares a duplicate photo from being downloaded again.
        if message.hasMedia and await self._seen(key):
            return Outcome("duplicate", [])
        phone = await self._phone_of(message.sender)
        if phone is None:
            log.info("waha message from unresolvable sender %r ignored", message.sender)
            return Outcome("ignored", [])
        stored, media_problem = None, None
        if message.hasMedia:
            stored, media_problem = await self._fetch_media(message)
        inbound = Inbound(
            channel=Channel.WHATSAPP,
            address=message.from_,
            sender_phone=phone,
            text=(message.body or "").strip(),
            has_media=message.hasMedia,
            media=stored,
            media_problem=media_problem,
            message_id=message.id,
            group=message.from_ if message.is_group else None,
            dedupe_key=key,
            inbox_id=inbox_id,
        )
        outcome = await respond(self.container, inbound, reply_by_outbox=reply_by_outbox)
        if outcome.queued:
            self.on_queued()
        return Outcome(outcome.status, outcome.replies,
                       settled=inbox_id is not None and outcome.settled)

    async def _fetch_media(self, message: MessagePayload
                           ) -> tuple[media_store.StoredMedia | None, str | None]:
        url = message.media_url
        if not url or self.client is None:
            return None, "I could not get the file from WhatsApp; please send it again."
        try:
            data, _ = await self.client.download(url)
            return media_store.store(self.container.settings.media_dir, data), None
        except MediaError as exc:
            return None, f"I could not take that file: {exc}."
