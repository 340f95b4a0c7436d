"""A fake Slack Web API (reference A5/D) and a request builder that signs as Slack signs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float


@dataclass
class FakeSlack:
    token: str = "xoxb-test-token"
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    _limited_until: float = 0.0
    _limited_count: int = 0
    _retry_after: int = 1
    rate_limited_hits: int = 0

    def __post_init__(self) -> None:
        self._ts = itertools.count(100)

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{id}", self._response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self) -> str:
        return f"{self.url}/response/{uuid.uuid4().hex}"

    def rate_limit(self, retry_after: int = 1, count: int = 1) -> None:
        self._retry_after, self._limited_count = retry_after, count

    def rate_limit_for(self, seconds: float, retry_after: int = 1) -> None:
        self._retry_after, self._limited_until = retry_after, time.monotonic() + seconds

    def add_user(self, user_id: str, name: str, real_name: str = "") -> None:
        self.users[user_id] = {"id": user_id, "name": name, "real_name": real_name or name,
                               "profile": {"real_name": real_name or name}, "is_bot": False}

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, n: int = 1, within: float = 5) -> list[Call]:
        deadline = time.monotonic() + within
        while len(self.calls_to(method)) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{method}: {len(self.calls_to(method))} calls, wanted {n}; "
                                     f"saw {[c.method for c in self.calls]}")
            await asyncio.sleep(0.01)
        return self.calls_to(method)

    async def wait_for_response(self, n: int = 1, within: float = 5) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while len(self.responses) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.responses)} response_url posts, wanted {n}")
            await asyncio.sleep(0.01)
        return self.responses

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            else:
                args.update(dict(await request.post()))
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        now = time.monotonic()
        if self._limited_count > 0 or now < self._limited_until:
            self._limited_count = max(0, self._limited_count - 1)
            self.rate_limited_hits += 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(self._retry_after)})
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        if token != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        self.calls.append(Call(method, args, now))
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(args))

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    # --- methods ----------------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fibre.slack.com/", "team": "Fibre", "user": "ticketbot",
                "team_id": "T111", "user_id": "U0BOT", "bot_id": "B0BOT"}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        return {"ok": True, "channel": args["channel"], "ts": ts,
                "message": {"type": "message", "text": args.get("text"), "ts": ts,
                            "bot_id": "B0BOT"}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": args.get("text")}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        return {"ok": True, "view": {"id": "V" + uuid.uuid4().hex[:8].upper(), **(view or {})}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = args.get("users")
        if not users:
            return {"ok": False, "error": "not_enough_users"}
        return {"ok": True, "channel": {"id": "D" + str(users).split(",")[0][1:]}}


class SlackSigner:
    """Builds requests exactly as Slack sends them, signed with the app's secret."""

    def __init__(self, signing_secret: str) -> None:
        self.secret = signing_secret

    def sign(self, body: bytes, ts: int | None = None) -> dict[str, str]:
        ts = int(time.time()) if ts is None else ts
        base = f"v0:{ts}:".encode() + body
        digest = hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}

    def slash_command(self, text: str, user_id: str, *, response_url: str,
                      channel_id: str = "C0TEST", command: str = "/ticket",
                      trigger_id: str = "1234.5678.abcdef", ts: int | None = None
                      ) -> tuple[bytes, dict[str, str]]:
        body = urlencode({
            "token": "verif", "team_id": "T111", "team_domain": "fibre",
            "channel_id": channel_id, "channel_name": "ops", "user_id": user_id,
            "user_name": user_id.lower(), "command": command, "text": text,
            "api_app_id": "A111", "is_enterprise_install": "false",
            "response_url": response_url, "trigger_id": trigger_id,
        }).encode()
        return body, {"Content-Type": "application/x-www-form-urlencoded",
                      **self.sign(body, ts)}

    def _payload(self, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = f"payload={quote(json.dumps(payload))}".encode()
        return body, {"Content-Type": "application/x-www-form-urlencoded", **self.sign(body)}

    def block_action(self, action_id: str, value: str, user_id: str, *, channel_id: str,
                     message_ts: str, response_url: str) -> tuple[bytes, dict[str, str]]:
        return self._payload({
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(),
                     "team_id": "T111"},
            "team": {"id": "T111", "domain": "fibre"},
            "api_app_id": "A111", "token": "verif",
            "container": {"type": "message", "message_ts": message_ts,
                          "channel_id": channel_id, "is_ephemeral": False},
            "trigger_id": "1234.5678.cafe",
            "channel": {"id": channel_id, "name": "approvals"},
            "message": {"type": "message", "ts": message_ts, "text": "", "bot_id": "B0BOT"},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [{"action_id": action_id, "block_id": "b1", "type": "button",
                         "value": value, "action_ts": str(time.time())}],
        })

    def view_submission(self, callback_id: str, values: dict[str, dict[str, Any]],
                        user_id: str) -> tuple[bytes, dict[str, str]]:
        return self._payload({
            "type": "view_submission", "team": {"id": "T111", "domain": "fibre"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(),
                     "team_id": "T111"},
            "api_app_id": "A111", "token": "verif", "trigger_id": "1.2.3",
            "view": {"id": "V1", "team_id": "T111", "type": "modal", "callback_id": callback_id,
                     "private_metadata": "", "state": {"values": values}, "hash": "1.2"},
            "response_urls": [], "is_enterprise_install": False,
        })

    def event(self, event: dict[str, Any], *, event_id: str,
              retry_num: int | None = None) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({
            "token": "verif", "team_id": "T111", "api_app_id": "A111", "event": event,
            "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
            "authed_users": ["U0BOT"],
        }).encode()
        headers = {"Content-Type": "application/json", **self.sign(body)}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return body, headers

    def url_verification(self, challenge: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"token": "verif", "challenge": challenge,
                           "type": "url_verification"}).encode()
        return body, {"Content-Type": "application/json", **self.sign(body)}
