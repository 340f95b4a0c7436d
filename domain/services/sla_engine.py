"""The SLA sweep (SPEC 4): near-breach, breach and escalation announcements, each once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from domain import permissions
from domain.context import Actor, Context
from domain.enums import CLOSED_STATUSES, AuditAction, Role, Status
from domain.errors import Conflict
from domain.model import OutboundMessage, Ticket, User
from domain.notify import address_of, notify_user, reply_to
from domain.permissions import Action
from domain.ports import UnitOfWork
from domain.services.audit import record
from domain.services.tickets import business_calendar
from domain.sla import Hold, SlaPolicy
from domain.sla_messages import headline, local, sla_card
from domain.sla_sweep import BREACH, ESCALATION, NEAR_BREACH, Milestone, decide

log = logging.getLogger("ticketbot.sla")

BATCH = 500


@dataclass
class SweepReport:
    looked_at: int = 0
    announcements: list[str] = field(default_factory=list)


async def sweep_batch(uow: UnitOfWork, ctx: Context, limit: int = BATCH) -> SweepReport:
    """One transaction's worth: the due tickets, what each must announce, the next check."""
    report = SweepReport()
    tickets = await uow.sla.due_tickets(ctx.now, limit)
    if not tickets:
        return report
    ids = [t.id for t in tickets]
    holds = await uow.sla.holds_for(ids)
    announced = await uow.sla.announced_for(ids)
    report.looked_at = len(tickets)
    for ticket in tickets:
        if ticket.status in CLOSED_STATUSES or ticket.sla_policy is None:
            ticket.sla_next_check_at = None
            continue
        policy = SlaPolicy.from_dict(ticket.sla_policy)
        ticket_holds = [Hold(h.started_at, h.ended_at) for h in holds[ticket.id]]
        decision = decide(policy, business_calendar(ctx), ticket.sla_started_at, ticket_holds,
                          ticket.first_response_at, ticket.resolved_at,
                          announced[ticket.id], ctx.now)
        claimed = [m for m in decision.record
                   if await uow.sla.claim(ticket.id, m.timer, m.kind, m.level, ctx.now)]
        for milestone in decision.announce:
            if milestone in claimed:
                text = await announce(uow, ctx, ticket, policy, milestone)
                report.announcements.append(text)
        ticket.sla_next_check_at = (
            None if ticket.status is Status.ON_HOLD else decision.next_check_at)
    return report


async def sweep(uow_factory, ctx: Context, *, max_batches: int = 1000) -> SweepReport:
    """Sweep until nothing is due; each batch commits on its own."""
    total = SweepReport()
    for _ in range(max_batches):
        async with uow_factory() as uow:
            report = await sweep_batch(uow, ctx)
            await uow.commit()
        total.looked_at += report.looked_at
        total.announcements.extend(report.announcements)
        if report.looked_at < BATCH:
            break
    return total


async def _people_with(uow: UnitOfWork, role: Role) -> list[User]:
    return await uow.users.with_role(role.value)


async def announce(uow: UnitOfWork, ctx: Context, ticket: Ticket, policy: SlaPolicy,
                   milestone: Milestone, *, reason: str | None = None) -> str:
    assignee = await uow.users.by_id(ticket.assignee_id) if ticket.assignee_id else None
    role = None
    if milestone.level >= 1 and milestone.level - 1 < len(policy.escalation_chain):
        role = policy.escalation_chain[milestone.level - 1]
    due = ticket.response_due_at if milestone.timer == "response" else ticket.resolution_due_at
    text = headline(ticket, milestone.timer, milestone.kind, milestone.level, due or ctx.now,
                    ctx.timezone, role.value if role else None,
                    assignee.name if assignee else None)
    if reason:
        text += f" Reason: {reason}"
    channel = ctx.channels.get("sla")
    if milestone.kind == NEAR_BREACH:
        if assignee is not None:
            await notify_user(uow, ctx.now, assignee, "sla_warning", ticket,
                              timer=milestone.timer, due=local(due, ctx.timezone),
                              assignee=assignee.name)
        if channel:
            await uow.outbox.add(OutboundMessage(
                channel="slack", address=channel, text=f":large_yellow_circle: {text}",
                ticket_id=ticket.id, template="sla_warning", created_at=ctx.now,
                next_attempt_at=ctx.now))
        record(uow, ctx, Actor(None, _system()), ticket, AuditAction.SLA_WARNING, None,
               {"timer": milestone.timer})
        return text
    if channel:
        await _channel_message(uow, ctx, ticket, channel, text, milestone)
    if role is not None:
        for person in await _people_with(uow, role):
            target = address_of(person)
            if target:
                await reply_to(uow, ctx.now, target[0], target[1], text, ticket.id)
    action = AuditAction.SLA_BREACHED if milestone.kind == BREACH else AuditAction.ESCALATED
    record(uow, ctx, Actor(None, _system()), ticket, action, None,
           {"timer": milestone.timer, "level": milestone.level,
            "role": role.value if role else None, "reason": reason})
    return text


def _system():
    from domain.enums import Channel

    return Channel.SYSTEM


async def _channel_message(uow: UnitOfWork, ctx: Context, ticket: Ticket, channel: str,
                           text: str, milestone: Milestone) -> None:
    """One SLA-channel message per ticket; later stages update it and reply in its thread."""
    if ticket.sla_message_id is None:
        message = OutboundMessage(channel="slack", address=channel, text=text,
                                  blocks=sla_card(ticket, text, []), ticket_id=ticket.id,
                                  template="sla_breach", created_at=ctx.now,
                                  next_attempt_at=ctx.now)
        await uow.outbox.add(message)
        await uow.flush()
        ticket.sla_message_id = message.id
        return
    await update_card(uow, ctx, ticket, channel, text, [])
    await uow.outbox.add(OutboundMessage(channel="slack", address=channel, text=text,
                                         thread_of=ticket.sla_message_id, ticket_id=ticket.id,
                                         created_at=ctx.now, next_attempt_at=ctx.now))


async def update_card(uow: UnitOfWork, ctx: Context, ticket: Ticket, channel: str, text: str,
                      notes: list[str]) -> None:
    if ticket.sla_message_id is None:
        return
    await uow.outbox.add(OutboundMessage(
        channel="slack", address=channel, text=text, blocks=sla_card(ticket, text, notes),
        update_of=ticket.sla_message_id, ticket_id=ticket.id, created_at=ctx.now,
        next_attempt_at=ctx.now))


async def escalate_now(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket,
                       reason: str | None) -> str:
    """`/ticket escalate`: the next level of the chain at once, with the usual messages."""
    if actor.user is not None:
        permissions.require(actor.user, Action.ESCALATE, ticket)
    if ticket.status in CLOSED_STATUSES or ticket.sla_policy is None:
        raise Conflict(f"{ticket.ref} is {ticket.status.value}: there is nothing to escalate.")
    policy = SlaPolicy.from_dict(ticket.sla_policy)
    announced = (await uow.sla.announced_for([ticket.id]))[ticket.id]
    timer = "response" if ticket.first_response_at is None else "resolution"
    current = max((level for t, _k, level in announced if t == timer), default=0)
    level = max(current + 1, 1)
    if level > len(policy.escalation_chain):
        raise Conflict(f"{ticket.ref} is already at the top of its escalation chain.")
    kind = BREACH if level == 1 else ESCALATION
    milestone = Milestone(timer, kind, level, ctx.now)
    for lower in range(1, level + 1):  # the levels below count as passed
        await uow.sla.claim(ticket.id, timer, BREACH if lower == 1 else ESCALATION, lower,
                            ctx.now)
    await announce(uow, ctx, ticket, policy, milestone, reason=reason)
    role = policy.escalation_chain[level - 1]
    return role.value


async def acknowledge_alert(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket
                            ) -> str:
    """`sla_ack`: the assignee, or a supervisor and above, records the response."""
    user = actor.user
    assert user is not None
    if user.id != ticket.assignee_id:
        permissions.require(user, Action.ACK_SLA, ticket)
    if ticket.first_response_at is None:
        ticket.first_response_at = ctx.now
        ticket.updated_at = ctx.now
        record(uow, ctx, actor, ticket, AuditAction.UPDATED, None, {"acknowledged": True})
    note = f"Acknowledged by {user.name} at {local(ctx.now, ctx.timezone)}"
    channel = ctx.channels.get("sla")
    if channel:
        await update_card(uow, ctx, ticket, channel, f"{ticket.ref}: {note}", [note])
    return note
