"""The running app against a fake WAHA, webhooks signed as WAHA signs them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.bootstrap import Container, build
from tests.conftest import Clock, make_settings
from tests.fakes.waha import FakeWaha, WebhookSender
from tests.seed import People, seed_people

HMAC_KEY = "waha-webhook-secret"
THABO = "27825550101@c.us"
SIPHO = "27825550102@c.us"

# Smallest valid images: the media store checks the bytes, not the sender's claim.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@dataclass
class WhatsAppRig:
    container: Container
    waha: FakeWaha
    client: TestClient
    hook: WebhookSender
    people: People
    clock: Clock

    async def say(self, text: str, sender: str = THABO, **kw: object) -> list[int]:
        payload = self.hook.message_payload(sender, text, **kw)  # type: ignore[arg-type]
        return await self.hook.send("message", payload)

    async def photo(self, caption: str | None, content: bytes = PNG, sender: str = THABO,
                    group: str | None = None) -> list[int]:
        import secrets

        msg = f"3EB0{secrets.token_hex(6).upper()}"
        url = self.waha.add_media("default", msg, content, "image/png")
        payload = self.hook.message_payload(sender, caption, has_media=True, media_url=url,
                                            mimetype="image/png", msg_id=msg, group=group)
        return await self.hook.send("message", payload)

    async def replies(self, n: int, chat: str = THABO) -> list[str]:
        """Wait until `chat` has received n messages in all; return them."""
        import asyncio
        import time

        deadline = time.monotonic() + 10
        while len(self.waha.texts_to(chat)) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{chat} got {self.waha.texts_to(chat)}, wanted {n}")
            await asyncio.sleep(0.01)
        return self.waha.texts_to(chat)

    async def last_reply(self, n: int, chat: str = THABO) -> str:
        return (await self.replies(n, chat))[n - 1]


@pytest.fixture
async def rig(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[WhatsAppRig]:
    async with FakeWaha(api_key="waha-key") as waha:
        settings = make_settings(database_url, tmp_path, waha_url=waha.url,
                                 waha_api_key="waha-key", waha_webhook_hmac_key=HMAC_KEY)
        container = build(settings, clock=clock)
        people = await seed_people(container)
        async with TestClient(TestServer(create_app(container))) as client:
            hook = WebhookSender(str(client.make_url("/webhooks/waha")), HMAC_KEY)
            yield WhatsAppRig(container, waha, client, hook, people, clock)
        await container.close()


SIGNING_SECRET = "slack-signing-secret"
APPROVALS = "C0APPROVALS"
SUPERVISOR, QA, MANAGER, TECH2 = "U0SUP00001", "U0QA000001", "U0MGR00001", "U0TECH0002"


@dataclass
class SlackRig(WhatsAppRig):
    slack: object = None
    signer: object = None

    async def post_slack(self, body: bytes, headers: dict[str, str]):
        return await self.client.post("/slack/events", data=body, headers=headers)

    async def command(self, text: str, user: str) -> tuple[int, dict]:
        """Run `/ticket text` as `user`; return (HTTP status, the ephemeral answer)."""
        before = len(self.slack.responses)
        body, headers = self.signer.slash_command(text, user,
                                                  response_url=self.slack.response_url())
        resp = await self.post_slack(body, headers)
        if resp.status != 200:
            return resp.status, {}
        answers = await self.slack.wait_for_response(before + 1)
        return resp.status, answers[before]


@contextlib.asynccontextmanager
async def slack_rig(database_url: str, tmp_path: Path, clock: Clock, **settings_: Any
                    ) -> AsyncIterator[SlackRig]:
    """The app with fake WAHA and Slack servers; `settings_` adds to or replaces settings."""
    from tests.fakes.slack import FakeSlack, SlackSigner

    async with FakeWaha(api_key="waha-key") as waha, FakeSlack() as slack:
        settings = make_settings(database_url, tmp_path, **{
            "waha_url": waha.url, "waha_api_key": "waha-key",
            "waha_webhook_hmac_key": HMAC_KEY, "slack_bot_token": slack.token,
            "slack_signing_secret": SIGNING_SECRET, "slack_api_url": slack.api_url,
            "slack_approvals_channel": APPROVALS, "slack_sla_channel": "C0SLA",
            "slack_ops_channel": "C0OPS", **settings_})
        container = build(settings, clock=clock)
        people = await seed_people(container)
        async with TestClient(TestServer(create_app(container))) as client:
            hook = WebhookSender(str(client.make_url("/webhooks/waha")), HMAC_KEY)
            yield SlackRig(container, waha, client, hook, people, clock, slack,
                           SlackSigner(SIGNING_SECRET))
        await container.close()


@pytest.fixture
async def srig(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[SlackRig]:
    async with slack_rig(database_url, tmp_path, clock) as rig:
        yield rig
