"""The chat pipeline both doors share: find the person, parse, run, answer (in one transaction)."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from bot.bootstrap import Container
from domain.context import Actor
from domain.enums import Channel
from domain.errors import DomainError
from domain.model import ChatReply, User
from domain.notify import reply_to
from handlers import grammar
from handlers.api.errors import database_unavailable
from handlers.commands import context_ticket, execute

log = logging.getLogger("ticketbot.chat")

NOT_REGISTERED = (
    "Hello! This number is not registered with ticketbot, so I cannot act on your message. "
    "Ask your supervisor to add you."
)
NOT_REGISTERED_SLACK = (
    "Hello! Your Slack account is not registered with ticketbot, so I cannot act on your "
    "request. Ask your supervisor to add you (with your Slack id)."
)


@dataclass
class Inbound:
    channel: Channel
    text: str
    address: str | None = None  # where a WhatsApp answer goes (the DM or the group)
    sender_phone: str | None = None
    sender_slack_id: str | None = None
    has_media: bool = False
    media: Any = None  # handlers.whatsapp.media.StoredMedia
    media_problem: str | None = None
    message_id: str | None = None
    group: str | None = None
    dedupe_key: str | None = None
    reply_channel: str = "whatsapp"  # which outbox channel carries the answer to `address`
    thread_ts: str | None = None  # Slack: answer in this message's thread
    inbox_id: int | None = None  # the stored WhatsApp event being applied (waha_inbox)


@dataclass
class Outcome:
    status: str  # handled | duplicate | ignored | unknown_sender
    replies: list[str] = field(default_factory=list)
    queued: bool = False
    reply: ChatReply | None = None

    @property
    def settled(self) -> bool:
        """Whether the commit that ended it settled the stored event too."""
        return self.status != "duplicate"


async def _commit(uow: Any, ctx: Any, inbound: Inbound) -> None:
    """Commit, settling the stored event this was (if any) in the same transaction."""
    if inbound.inbox_id is not None:
        await uow.inbound.settle_stored(inbound.inbox_id, ctx.now)
    await uow.commit()


async def _find_user(uow: Any, inbound: Inbound) -> User | None:
    if inbound.sender_phone:
        return await uow.users.by_phone(inbound.sender_phone)
    if inbound.sender_slack_id:
        return await uow.users.by_slack_id(inbound.sender_slack_id)
    return None


async def respond(container: Container, inbound: Inbound, *, reply_by_outbox: bool = True
                  ) -> Outcome:
    """Everything one inbound chat message causes, committed together (or not at all)."""
    await container.try_media_links()  # once per process: cards then carry photo links
    async with container.uow() as uow:
        ctx = container.context()
        if inbound.dedupe_key and not await uow.inbound.first_time(inbound.dedupe_key, ctx.now):
            return Outcome("duplicate")
        user = await _find_user(uow, inbound)
        if user is None or not user.active:
            return await _unknown(uow, ctx, inbound, reply_by_outbox)
        if inbound.group and not grammar.is_group_actionable(inbound.text, inbound.has_media):
            await _commit(uow, ctx, inbound)  # remember the id: a retry is a duplicate too
            return Outcome("ignored")
        actor = Actor(user, inbound.channel)
        try:
            reply = await _run(uow, ctx, actor, inbound)
        except _Refused as refused:
            # The refused command's changes go; the event is still recorded as seen, and
            # answered, in a transaction of its own. (Cheaper than a savepoint around every
            # command: refusals are the exception.)
            reply = refused.reply
            await uow.rollback()
            if inbound.dedupe_key and not await uow.inbound.first_time(inbound.dedupe_key,
                                                                       ctx.now):
                return Outcome("duplicate")
        queued = False
        if reply_by_outbox and inbound.address:
            await reply_to(uow, ctx.now, inbound.reply_channel, inbound.address, reply.text,
                           reply.extra.get("ticket_id"), thread_ts=inbound.thread_ts)
            queued = True
        await _commit(uow, ctx, inbound)
        if reply.extra.get("created"):
            container.metrics.tickets_created.labels(inbound.channel.value).inc()
        queued = queued or bool(reply.extra.get("queued"))
        return Outcome("handled", [reply.text], queued=queued, reply=reply)


async def _unknown(uow: Any, ctx: Any, inbound: Inbound, reply_by_outbox: bool) -> Outcome:
    # A private answer (a slash command's ephemeral reply) always says why nothing happened.
    if inbound.channel is Channel.SLACK and (not reply_by_outbox or inbound.address is None):
        await _commit(uow, ctx, inbound)
        return Outcome("unknown_sender", [NOT_REGISTERED_SLACK])
    # In a group, strangers' chatter is none of our business; in a DM, one reply a day (also
    # when `ticketbot chat` prints the answer instead of sending it).
    sender = inbound.sender_phone or inbound.sender_slack_id or inbound.address or ""
    greet = inbound.group is None and await uow.inbound.may_greet_unknown(
        sender, ctx.now, ctx.timezone)
    answer = NOT_REGISTERED_SLACK if inbound.channel is Channel.SLACK else NOT_REGISTERED
    if greet and reply_by_outbox and inbound.address is not None:
        await reply_to(uow, ctx.now, inbound.reply_channel, inbound.address, answer,
                       thread_ts=inbound.thread_ts)
    await _commit(uow, ctx, inbound)
    return Outcome("unknown_sender", [answer] if greet else [],
                   queued=greet and reply_by_outbox)


class _Refused(Exception):
    """The command was refused (or failed): its changes must go, its answer must not."""

    def __init__(self, reply: ChatReply) -> None:
        super().__init__(reply.text)
        self.reply = reply


_A_REF = re.compile(r"\bFF\d{6}\b")


async def _naming_the_ticket(uow: Any, ctx: Any, actor: Actor, inbound: Inbound,
                             text: str) -> str:
    """Every answer names the ticket (SPEC 5): a refusal that does not yet is prefixed with
    the ref the message named, or else, for a command on one ticket, the one its sender was
    last talking about."""
    if _A_REF.search(text.replace("FF000123", "")):  # the usage examples' ref does not count
        return text
    ref = grammar.mentioned_ref(inbound.text or "")
    if ref is None and grammar.is_about_a_ticket(inbound.text or ""):
        ticket = await context_ticket(uow, ctx, actor)
        ref = ticket.ref if ticket else None
    return f"{ref}: {text}" if ref else text


async def _run(uow: Any, ctx: Any, actor: Actor, inbound: Inbound) -> ChatReply:
    """Parse and execute. A refusal raises _Refused with the answer to give."""
    if inbound.media_problem:
        return ChatReply(inbound.media_problem)
    try:
        command = grammar.parse(inbound.text, has_media=inbound.has_media)
    except grammar.ParseError as exc:
        text = f"{exc.message}\n{exc.usage}".strip()
        return ChatReply(await _naming_the_ticket(uow, ctx, actor, inbound, text))
    try:
        return await execute(uow, ctx, actor, command, inbound)
    except DomainError as exc:
        text = await _naming_the_ticket(uow, ctx, actor, inbound, exc.message)
        raise _Refused(ChatReply(text)) from None
    except Exception as exc:
        if database_unavailable(exc):
            raise
        incident = uuid.uuid4().hex[:12]
        log.exception("chat command failed, incident %s", incident)
        raise _Refused(ChatReply(f"Sorry, something went wrong on our side "
                                 f"(incident {incident}).")) from None
