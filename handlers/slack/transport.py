"""Delivering outbox rows to Slack: post, reply in a thread, or update a message in place."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from handlers.transport import DeliveryError, Sent, retry_after_seconds
from storage import tables as t

# Errors no retry can fix: the message is failed at once and listed by `ticketbot outbox`.
PERMANENT = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
    "invalid_blocks", "message_not_found", "cant_update_message", "user_not_found",
    "invalid_arguments",
})


def external_id(channel: str, ts: str) -> str:
    return f"{channel}|{ts}"


class SlackTransport:
    def __init__(self, client: AsyncWebClient, sessions: Any) -> None:
        self.client = client
        self.sessions = sessions

    async def _target_of(self, message_id: int) -> tuple[str, str]:
        async with self.sessions() as s:
            row = (await s.execute(select(t.outbox.c.external_id)
                                   .where(t.outbox.c.id == message_id))).first()
        if not row or not row[0]:
            raise DeliveryError(f"message {message_id} to update is not posted yet")
        channel, _, ts = row[0].partition("|")
        return channel, ts

    async def deliver(self, message: dict[str, Any]) -> Sent:
        args: dict[str, Any] = {"text": message["text"]}
        if message.get("blocks"):
            args["blocks"] = message["blocks"]
        try:
            if message.get("update_of"):
                channel, ts = await self._target_of(message["update_of"])
                resp = await self.client.chat_update(channel=channel, ts=ts, **args)
                return Sent(external_id(resp["channel"], resp["ts"]))
            if message.get("thread_of"):
                channel, ts = await self._target_of(message["thread_of"])
                args["thread_ts"] = ts
            elif message.get("thread_ts"):
                args["thread_ts"] = message["thread_ts"]
            resp = await self.client.chat_postMessage(channel=message["address"], **args)
            return Sent(external_id(resp["channel"], resp["ts"]))
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error", "") if exc.response.data else ""
            headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
            retry_after = retry_after_seconds(headers.get("retry-after"))
            raise DeliveryError(f"Slack {status} {error}", permanent=error in PERMANENT,
                                retry_after=retry_after) from None
        except (OSError, TimeoutError) as exc:
            raise DeliveryError(f"Slack unreachable: {exc!r}") from None
