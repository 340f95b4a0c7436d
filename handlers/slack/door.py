"""`POST /slack/events`: slash commands, buttons, the new-ticket modal, mentions and DMs.

Every request is acknowledged at once (bolt acks before the listener's slow part runs); the
answer follows through `response_url` (ephemeral) or the outbox (thread replies, updates).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import Container
from domain.context import Actor
from domain.enums import Channel
from domain.errors import DomainError
from domain.services import qa as qa_service
from handlers.api.errors import database_unavailable, error_response
from handlers.approvals import announce_decision
from handlers.chat import NOT_REGISTERED_SLACK, Inbound, respond
from handlers.slack.blocks import new_ticket_modal, ticket_card

log = logging.getLogger("ticketbot.slack")

# The bot's name before the command: `<@U123>`, `<@U123|ticketbot>`, or plain `@ticketbot` when
# the app does not escape mentions.
_MENTION_PREFIX = re.compile(r"^\s*(?:<@[A-Z0-9]+(?:\|[^>]*)?>|@[\w.-]+)[:,]?\s*")


def build_client(settings: Any) -> AsyncWebClient:
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        # Bolt's own calls (views.open, auth.test) wait out a 429 and try again; outbox
        # deliveries instead reschedule themselves (handlers/slack/transport.py).
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3)],
    )


def _well_formed(body: dict[str, Any]) -> bool:
    """What bolt and our listeners take for granted, checked before they run."""
    if "command" in body:
        return isinstance(body.get("user_id"), str)
    kind = body.get("type")
    if kind == "event_callback":
        return isinstance(body.get("event"), dict)
    if kind in ("block_actions", "view_submission"):
        return isinstance(body.get("user"), dict)
    return isinstance(kind, str)  # url_verification and the others bolt routes by type


class SlackDoor:
    def __init__(self, container: Container, client: AsyncWebClient, on_queued: Any) -> None:
        self.container = container
        self.client = client
        self.on_queued = on_queued
        settings = container.settings
        self.app = AsyncApp(client=client, signing_secret=settings.slack_signing_secret,
                            process_before_response=False)
        self.verifier = SignatureVerifier(settings.slack_signing_secret)
        self._background: set[asyncio.Task] = set()
        self.app.command("/ticket")(self._command)
        self.app.action("risk_approve")(self._risk_action)
        self.app.action("risk_reject")(self._risk_action)
        self.app.action("sla_ack")(self._sla_action)
        self.app.action("ticket_take")(self._sla_action)
        self.app.view("ticket_new")(self._new_ticket_submitted)
        self.app.event("app_mention")(self._mention)
        self.app.event("message")(self._message)

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        # The signature first, on the raw bytes: nothing unsigned is parsed, and a missing or
        # malformed header is a 401 like a wrong one.
        try:
            signed = (timestamp.isdigit() and signature.isascii() and bool(signature)
                      and self.verifier.is_valid(body=raw, timestamp=timestamp,
                                                 signature=signature))
        except UnicodeDecodeError:  # Slack sends UTF-8; these bytes are not from Slack
            return error_response(400, "The body is not a Slack payload.")
        if not signed:
            return error_response(401, "The request is not signed by Slack.")
        try:
            bolt_request = await to_bolt_request(request)
        except Exception as exc:  # JSON, UTF-8 or a payload bolt cannot read (a list, ...)
            log.warning("slack: a signed body that does not parse: %s", exc)
            return error_response(400, "The body is not a Slack payload.")
        body = bolt_request.body
        if not isinstance(body, dict) or not body or not _well_formed(body):
            log.warning("slack: a signed body of an unexpected shape")
            return error_response(400, "The body is not a Slack payload.")
        if self._ack_early(bolt_request):
            if ("command" not in bolt_request.body
                    and not await self.container.database_answers()):
                # Slack retries an event answered with an error; a click shows the person
                # that it failed. Either beats a 200 for work that cannot be done. (Slash
                # commands answer an outage themselves.)
                return error_response(503, "The ticket database is not answering.")
            # Slash commands, buttons and events need nothing in the HTTP answer: it goes
            # back at once, whatever the event loop or the database is busy with, and bolt
            # runs the listener (whose ack() is then a no-op) in the background.
            task = asyncio.create_task(self.app.async_dispatch(bolt_request))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return web.Response(status=200)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    def _ack_early(self, bolt_request: Any) -> bool:
        body = bolt_request.body or {}
        kind = body.get("type") if isinstance(body, dict) else None
        # View submissions answer in the body; url_verification too.
        return "command" in body or kind in ("block_actions", "event_callback")

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # --- slash command -----------------------------------------------------------------------

    async def _command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        text = (command.get("text") or "").strip()
        if text.lower() == "new":
            await self._open_modal(command, respond)
            return
        await self._answer(text, command["user_id"], respond)

    async def _answer(self, text: str, user_id: str, respond: Any) -> None:
        inbound = Inbound(channel=Channel.SLACK, text=text or "help", sender_slack_id=user_id)
        try:
            outcome = await respond_safely(self.container, inbound)
        except _Unavailable:
            await respond(text="The ticket database is not answering; try again in a minute.",
                          response_type="ephemeral")
            return
        reply = outcome.reply
        if reply is not None and reply.extra.get("view"):
            await respond(text=reply.text,
                          blocks=ticket_card(reply.extra["view"], reply.extra.get("evidence"),
                                             self.container.settings.timezone),
                          response_type="ephemeral")
        else:
            await respond(text="\n".join(outcome.replies) or "Done.", response_type="ephemeral")
        if outcome.queued or (reply and reply.extra.get("queued")):
            self.on_queued()

    async def _open_modal(self, command: dict[str, Any], respond: Any) -> None:
        async with self.container.uow() as uow:
            user = await uow.users.by_slack_id(command["user_id"])
        if user is None:
            await respond(text=NOT_REGISTERED_SLACK, response_type="ephemeral")
            return
        await self.client.views_open(trigger_id=command["trigger_id"], view=new_ticket_modal())

    async def _new_ticket_submitted(self, ack: Any, body: dict[str, Any], view: dict[str, Any]
                                    ) -> None:
        values = view.get("state", {}).get("values", {})

        def value(block: str) -> str:
            field = values.get(block, {}).get("value", {})
            selected = field.get("selected_option") or {}
            return (field.get("value") or selected.get("value") or "").strip()

        dr, priority, description = value("dr"), value("priority"), value("description")
        from domain.refs import normalise_dr

        if normalise_dr(dr) is None:
            await ack(response_action="errors",
                      errors={"dr": "A DR number is DR and 6 to 8 digits, e.g. DR1234567."})
            return
        if not description:
            await ack(response_action="errors", errors={"description": "Say what is wrong."})
            return
        await ack()
        user_id = body["user"]["id"]
        text = f"new {dr} {priority} {description}".strip()
        inbound = Inbound(channel=Channel.SLACK, text=text, sender_slack_id=user_id,
                          address=user_id, reply_channel="slack")
        try:
            outcome = await respond_safely(self.container, inbound, reply_by_outbox=True)
        except _Unavailable:
            return
        if outcome.queued:
            self.on_queued()

    # --- buttons -----------------------------------------------------------------------------

    async def _risk_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any],
                           respond: Any) -> None:
        await ack()
        approve = action["action_id"] == "risk_approve"
        try:
            risk_id = int(str(action.get("value", "")))
            if not 0 < risk_id < 2**63:
                raise ValueError(risk_id)
        except ValueError:
            await respond(text="That button carries no risk acceptance.", replace_original=False,
                          response_type="ephemeral")
            return
        slack_id = body["user"]["id"]
        async with self.container.uow() as uow:
            ctx = self.container.context()
            user = await uow.users.by_slack_id(slack_id)
            if user is None:
                await respond(text=NOT_REGISTERED_SLACK, replace_original=False,
                              response_type="ephemeral")
                return
            actor = Actor(user, Channel.SLACK)
            reason = None if approve else f"rejected by {user.name} in Slack"
            try:
                risk, ticket = await qa_service.decide_risk(uow, ctx, actor, risk_id, approve,
                                                            reason)
            except DomainError as exc:
                await respond(text=exc.message, replace_original=False,
                              response_type="ephemeral")
                return
            await announce_decision(uow, ctx, risk, ticket, user)
            await uow.commit()
        self.on_queued()

    async def _sla_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any],
                          respond: Any) -> None:
        """`sla_ack` records the response; `ticket_take` assigns the clicker."""
        await ack()
        from domain.services import sla_engine
        from domain.services import tickets as ticket_service
        from domain.sla_messages import local

        async with self.container.uow() as uow:
            ctx = self.container.context()
            user = await uow.users.by_slack_id(body["user"]["id"])
            if user is None:
                await respond(text=NOT_REGISTERED_SLACK, replace_original=False,
                              response_type="ephemeral")
                return
            actor = Actor(user, Channel.SLACK)
            try:
                ticket = await ticket_service.find(uow, str(action.get("value", "")),
                                                   for_update=True)
                if action["action_id"] == "sla_ack":
                    await sla_engine.acknowledge_alert(uow, ctx, actor, ticket)
                else:
                    await ticket_service.assign(uow, ctx, actor, ticket, user.id)
                    note = f"Taken by {user.name} at {local(ctx.now, ctx.timezone)}"
                    channel = ctx.channels.get("sla")
                    if channel:
                        await sla_engine.update_card(uow, ctx, ticket, channel,
                                                     f"{ticket.ref}: {note}", [note])
            except DomainError as exc:
                await respond(text=exc.message, replace_original=False,
                              response_type="ephemeral")
                return
            await uow.commit()
        self.on_queued()

    # --- events --------------------------------------------------------------------------------

    async def _mention(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        await self._event_message(event, body)

    async def _message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        # Direct messages only: channel chatter reaches us as app_mention when it is for us.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        await self._event_message(event, body)

    async def _event_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        user_id = event.get("user")
        if not user_id:
            return
        text = _MENTION_PREFIX.sub("", event.get("text") or "", count=1)
        inbound = Inbound(
            channel=Channel.SLACK, text=text, sender_slack_id=user_id,
            address=event.get("channel"), reply_channel="slack",
            thread_ts=event.get("thread_ts") or event.get("ts"),
            dedupe_key=f"slack:{body.get('event_id') or event.get('ts')}",
        )
        try:
            outcome = await respond_safely(self.container, inbound, reply_by_outbox=True)
        except _Unavailable:
            return
        if outcome.queued:
            self.on_queued()


class _Unavailable(Exception):
    pass


async def respond_safely(container: Container, inbound: Inbound, *,
                         reply_by_outbox: bool = False) -> Any:
    try:
        return await respond(container, inbound, reply_by_outbox=reply_by_outbox)
    except Exception as exc:
        if database_unavailable(exc):
            log.warning("database unavailable for a Slack request: %s", exc)
            raise _Unavailable from exc
        raise
