"""Hostile but correctly signed input (hypothesis): huge strings, wrong types, unicode,
missing fields. The service answers 2xx or 4xx, never a 500, and keeps running."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from tests.e2e.live import LiveApp
from tests.seed import seed_people

HMAC_KEY = "hostile-hmac"
SECRET = "hostile-slack-secret"

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=50), st.text(min_size=5_000, max_size=20_000))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)
phones = st.sampled_from(["27825550101@c.us", "27825550102@c.us", "123@lid", "x@g.us", "", "@"])
payloads = st.fixed_dictionaries(
    {},
    optional={"id": json_values, "from": st.one_of(phones, json_values),
              "fromMe": json_values, "body": st.one_of(st.text(max_size=3000), json_values),
              "hasMedia": json_values, "participant": st.one_of(phones, json_values),
              "media": json_values, "ack": json_values, "timestamp": json_values})
envelopes = st.fixed_dictionaries(
    {"event": st.one_of(st.sampled_from(["message", "message.any", "message.ack",
                                         "session.status", "presence.update"]), json_values)},
    optional={"id": json_values, "session": json_values, "payload": st.one_of(payloads,
                                                                              json_values),
              "timestamp": json_values, "me": json_values})


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    root = tmp_path_factory.mktemp("hostile")
    dead = "http://127.0.0.1:9/"  # outbound calls fail fast; inbound is what we test
    app = LiveApp(Settings(
        database_url=f"sqlite+aiosqlite:///{root / 'hostile.db'}",
        media_dir=str(root / "media"), waha_url=dead, waha_api_key="k",
        waha_webhook_hmac_key=HMAC_KEY, slack_bot_token="xoxb-1",
        slack_signing_secret=SECRET, slack_api_url=dead + "api/"),
        lambda container: seed_people(container))
    with app.running():
        yield app


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(envelopes)
def test_hostile_waha_envelopes(live: LiveApp, envelope: dict) -> None:
    body = json.dumps(envelope).encode()
    signature = hmac.new(HMAC_KEY.encode(), body, hashlib.sha512).hexdigest()
    status = live.post("/webhooks/waha", body, {"Content-Type": "application/json",
                                                "X-Webhook-Hmac": signature})
    assert status < 500, (status, body[:300])


def slack_headers(body: bytes, content_type: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest}"}


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=5000), st.sampled_from(["U0SUP00001", "U0NOBODY", ""]))
def test_hostile_slash_commands(live: LiveApp, text: str, user: str) -> None:
    body = urlencode({"command": "/ticket", "text": text, "user_id": user,
                      "team_id": "T1", "channel_id": "C1", "trigger_id": "1.2",
                      "response_url": "http://127.0.0.1:9/r"}).encode()
    status = live.post("/slack/events", body,
                       slack_headers(body, "application/x-www-form-urlencoded"))
    assert status < 500


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(json_values, st.sampled_from(["risk_approve", "risk_reject", "sla_ack",
                                     "ticket_take"]))
def test_hostile_button_payloads(live: LiveApp, value: object, action_id: str) -> None:
    payload = {"type": "block_actions", "user": {"id": "U0MGR00001"},
               "team": {"id": "T1"}, "actions": [{"action_id": action_id, "value": value}],
               "response_url": "http://127.0.0.1:9/r", "container": {}, "channel": {"id": "C"}}
    body = f"payload={quote(json.dumps(payload))}".encode()
    status = live.post("/slack/events", body,
                       slack_headers(body, "application/x-www-form-urlencoded"))
    assert status < 500
