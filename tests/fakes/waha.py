"""A fake WAHA: `X-Api-Key` checked as WAHA does, sends recorded, media served, switchable down.
Also the webhook side: envelopes built and signed exactly as WAHA sends them (reference B1-B2)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def event_id() -> str:
    return "evt_" + "".join(secrets.choice(_CROCKFORD) for _ in range(26))


def sign_waha(body: bytes, key: str) -> str:
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


@dataclass
class SentMessage:
    endpoint: str
    session: str
    chat_id: str
    text: str | None
    body: dict[str, Any]
    at: float


@dataclass
class FakeWaha:
    api_key: str = "waha-test-key"
    sent: list[SentMessage] = field(default_factory=list)
    down: bool = False
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    lids: dict[str, str] = field(default_factory=dict)
    _rate_limited: int = 0
    _retry_after: float = 1.0
    _fail_next: int = 0
    _fail_status: int = 500
    unauthorized: int = 0

    async def __aenter__(self) -> FakeWaha:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        for endpoint in ("sendText", "sendImage", "sendFile"):
            app.router.add_post(f"/api/{endpoint}", self._send)
        app.router.add_get("/api/files/{session}/{name}", self._file)
        app.router.add_get("/api/{session}/lids/{lid}", self._lid)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- switches ---------------------------------------------------------------------------

    def set_down(self, down: bool) -> None:
        self.down = down

    def rate_limit(self, retry_after: float, count: int) -> None:
        self._retry_after, self._rate_limited = retry_after, count

    def fail_next(self, n: int, status: int = 500) -> None:
        self._fail_next, self._fail_status = n, status

    def add_media(self, session: str, message_id: str, content: bytes, mimetype: str) -> str:
        name = f"{message_id}.{mimetype.split('/')[-1]}"
        self.media[f"{session}/{name}"] = (content, mimetype)
        return f"{self.url}/api/files/{session}/{name}"

    def add_lid(self, lid: str, phone: str) -> None:
        self.lids[lid] = phone

    async def wait_for_sent(self, n: int, within: float = 5) -> list[SentMessage]:
        deadline = time.monotonic() + within
        while len(self.sent) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} sends, got {len(self.sent)}: "
                                     f"{[m.text for m in self.sent]}")
            await asyncio.sleep(0.01)
        return self.sent

    def texts_to(self, chat_id: str) -> list[str]:
        return [m.text or "" for m in self.sent if m.chat_id == chat_id]

    # --- handlers ---------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.down:
            return web.json_response({"message": "session not ready", "statusCode": 503},
                                     status=503)
        key = request.headers.get("X-Api-Key") or request.query.get("x-api-key")
        if key != self.api_key:
            self.unauthorized += 1
            return web.json_response({"message": "Unauthorized", "statusCode": 401},
                                     status=401)
        return await handler(request)

    async def _send(self, request: web.Request) -> web.Response:
        if self._rate_limited > 0:
            self._rate_limited -= 1
            return web.json_response({"message": "Too Many Requests", "statusCode": 429},
                                     status=429, headers={"Retry-After": str(self._retry_after)})
        if self._fail_next > 0:
            self._fail_next -= 1
            return web.json_response({"message": "boom", "statusCode": self._fail_status},
                                     status=self._fail_status)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"statusCode": 400, "message": ["body must be JSON"],
                                      "error": "Bad Request"}, status=400)
        endpoint = request.path.rsplit("/", 1)[-1]
        problems = []
        if not isinstance(body, dict) or not isinstance(body.get("chatId"), str):
            problems.append("chatId must be a string")
        if endpoint == "sendText" and not isinstance(body.get("text"), str):
            problems.append("text must be a string")
        if problems:
            return web.json_response({"statusCode": 400, "message": problems,
                                      "error": "Bad Request"}, status=400)
        self.sent.append(SentMessage(endpoint, body.get("session", "default"), body["chatId"],
                                     body.get("text"), body, time.monotonic()))
        return web.json_response(
            {"id": f"true_{body['chatId']}_{secrets.token_hex(10).upper()}", "_data": {}},
            status=201,
        )

    async def _file(self, request: web.Request) -> web.Response:
        key = f"{request.match_info['session']}/{request.match_info['name']}"
        if key not in self.media:
            return web.json_response({"error": {"code": 404, "key": "FILE_NOT_FOUND",
                                                "message": "File not found"}}, status=404)
        content, mimetype = self.media[key]
        return web.Response(body=content, content_type=mimetype)

    async def _lid(self, request: web.Request) -> web.Response:
        lid = request.match_info["lid"]
        if lid not in self.lids:
            return web.json_response({"message": "not found"}, status=404)
        return web.json_response({"lid": lid, "pn": f"{self.lids[lid]}@c.us"})


class WebhookSender:
    """Posts events to the app as WAHA does: raw JSON, its headers, an HMAC when keyed."""

    def __init__(self, target_url: str, hmac_key: str | None = None,
                 session: str = "default") -> None:
        self.target_url = target_url
        self.hmac_key = hmac_key
        self.session = session
        self._seq = 0

    def message_payload(
        self,
        from_: str,
        body: str | None,
        *,
        group: str | None = None,
        has_media: bool = False,
        media_url: str | None = None,
        mimetype: str | None = None,
        msg_id: str | None = None,
        from_me: bool = False,
    ) -> dict[str, Any]:
        self._seq += 1
        wa_id = msg_id or f"3EB0{secrets.token_hex(8).upper()}"
        chat = group or from_
        pid = f"{'true' if from_me else 'false'}_{chat}_{wa_id}"
        if group:
            pid += f"_{from_}"
        payload: dict[str, Any] = {
            "id": pid,
            "timestamp": int(time.time()),
            "from": chat,
            "fromMe": from_me,
            "source": "app",
            "body": body,
            "hasMedia": has_media,
            "media": ({"url": media_url, "mimetype": mimetype, "filename": None, "error": None}
                      if media_url else None),
            "ack": 1,
            "ackName": "SERVER",
            "_data": {},
        }
        if group:
            payload["participant"] = from_
        return payload

    def envelope(self, event: str, payload: Any) -> dict[str, Any]:
        return {
            "id": event_id(),
            "timestamp": int(time.time() * 1000),
            "event": event,
            "session": self.session,
            "metadata": {},
            "me": {"id": "27820000000@c.us", "pushName": "ticketbot"},
            "payload": payload,
            "engine": "GOWS",
            "environment": {"version": "2026.7.1", "engine": "GOWS", "tier": "CORE",
                            "browser": None},
        }

    def headers_for(self, body: bytes, envelope: dict[str, Any]) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WAHA/2026.7.1",
            "X-Webhook-Request-Id": secrets.token_hex(7),
            "X-Webhook-Timestamp": str(envelope.get("timestamp", int(time.time() * 1000))),
        }
        if self.hmac_key:
            headers["X-Webhook-Hmac"] = sign_waha(body, self.hmac_key)
            headers["X-Webhook-Hmac-Algorithm"] = "sha512"
        return headers

    async def send(self, event: str, payload: Any, *, both_streams: bool = False,
                   retries: int = 0, retry_delay: float = 0.01) -> list[int]:
        statuses = []
        for name in ([event, "message.any"] if both_streams else [event]):
            envelope = self.envelope(name, payload)
            body = json.dumps(envelope).encode()
            statuses.append(await self.post_raw(body, self.headers_for(body, envelope),
                                                retries=retries, retry_delay=retry_delay))
        return statuses

    async def post_raw(self, body: bytes, headers: dict[str, str], *, retries: int = 0,
                       retry_delay: float = 0.01) -> int:
        status = 0
        async with aiohttp.ClientSession() as http:
            for _ in range(retries + 1):
                try:
                    # BytesIO: aiohttp warns about large raw bodies; the bytes are the same.
                    data = io.BytesIO(body)
                    async with http.post(self.target_url, data=data, headers=headers) as resp:
                        status = resp.status
                except aiohttp.ClientError:
                    status = 0
                if 200 <= status < 300:
                    return status
                await asyncio.sleep(retry_delay)
        return status
