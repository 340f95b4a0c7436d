"""The SLA sweep (SPEC 4): near-breach, breach and escalation announcements, each once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from domain import permissions
from domain.context import Actor, Context
from domain.enums import CLOSED_STATUSES, AuditAction, Channel, Role, Status
from domain.errors import Conflict
from domain.model import OutboundMessage, Ticket, User
from domain.notify import address_of, notify_user
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
    """One transaction's worth: the due tickets, what each must announce, the next check.

    Reads and claims are made for the whole batch at once (a handful of statements however
    many tickets are due), so the sweep's cost follows the due tickets.
    """
    report = SweepReport()
    tickets = await uow.sla.due_tickets(ctx.now, limit)
    if not tickets:
        return report
    ids = [t.id for t in tickets]
    holds = await uow.sla.holds_for(ids)
    announced = await uow.sla.announced_for(ids)
    report.looked_at = len(tickets)
    plans = []
    for ticket in tickets:
        if ticket.status in CLOSED_STATUSES or ticket.sla_policy is None:
            ticket.sla_next_check_at = None
            continue
        policy = SlaPolicy.from_dict(ticket.sla_policy)
        ticket_holds = [Hold(h.started_at, h.ended_at) for h in holds[ticket.id]]
        decision = decide(policy, business_calendar(ctx), ticket.sla_started_at, ticket_holds,
                          ticket.first_response_at, ticket.resolved_at,
                          announced[ticket.id], ctx.now)
        ticket.sla_next_check_at = (
            None if ticket.status is Status.ON_HOLD else decision.next_check_at)
        if decision.record:
            plans.append((ticket, policy, decision))
    claimed = await uow.sla.claim_many(
        [(ticket.id, *m.key) for ticket, _, decision in plans for m in decision.record],
        ctx.now)
    cache = _Cache(uow, ctx, await uow.users.by_ids(
        [ticket.assignee_id for ticket, _, _ in plans if ticket.assignee_id]))
    for ticket, policy, decision in plans:
        for milestone in decision.announce:
            if (ticket.id, *milestone.key) in claimed:
                report.announcements.append(
                    await announce(uow, ctx, ticket, policy, milestone, cache=cache))
    await cache.write()
    return report


class _Cache:
    """Per-batch memory: people by role, assignees, and the rows the batch will write.

    Messages and audit events are collected as plain rows and written with one statement
    each at the end of the batch (`write`), instead of one ORM object per message.
    """

    def __init__(self, uow: UnitOfWork, ctx: Context, assignees: dict[int, User]) -> None:
        self.uow = uow
        self.ctx = ctx
        self.assignees = assignees
        self.roles: dict[Role, list[User]] = {}
        self.messages: list[dict] = []
        self.audit: list[dict] = []
        self.cards: dict[int, int] = {}  # ticket id -> index of its new card in messages
        self.tickets: dict[int, Ticket] = {}

    async def people_with(self, role: Role) -> list[User]:
        if role not in self.roles:
            self.roles[role] = await self.uow.users.with_role(role.value)
        return self.roles[role]

    async def assignee(self, ticket: Ticket) -> User | None:
        if ticket.assignee_id is None:
            return None
        if ticket.assignee_id not in self.assignees:
            user = await self.uow.users.by_id(ticket.assignee_id)
            if user is None:
                return None
            self.assignees[ticket.assignee_id] = user
        return self.assignees[ticket.assignee_id]

    def message(self, ticket: Ticket, channel: str, address: str, text: str,
                **extra: object) -> int:
        now = self.ctx.now
        self.messages.append({"channel": channel, "address": address, "text": text,
                              "ticket_id": ticket.id, "created_at": now,
                              "next_attempt_at": now, "status": "pending", "attempts": 0,
                              **extra})
        return len(self.messages) - 1

    def event(self, ticket: Ticket, action: AuditAction, new: dict,
              actor: Actor | None = None) -> None:
        """An audit row; the SLA engine's own unless a person (`actor`) escalated by hand."""
        row = {"ticket_id": ticket.id, "channel": Channel.SYSTEM, "action": action,
               "new_value": new, "created_at": self.ctx.now}
        if actor is not None:
            row.update(actor_id=actor.id, actor_role=actor.role, channel=actor.channel)
        self.audit.append(row)

    async def write(self) -> None:
        ids = await self.uow.outbox.insert_many(self.messages)
        for ticket_id, index in self.cards.items():
            self.tickets[ticket_id].sla_message_id = ids[index]
        await self.uow.insert_audit(self.audit)
        self.messages, self.audit, self.cards = [], [], {}


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


async def announce(uow: UnitOfWork, ctx: Context, ticket: Ticket, policy: SlaPolicy,
                   milestone: Milestone, *, reason: str | None = None,
                   cache: _Cache | None = None, actor: Actor | None = None) -> str:
    own_cache = cache is None
    cache = cache or _Cache(uow, ctx, {})
    assignee = await cache.assignee(ticket)
    role = None
    if milestone.level >= 1 and milestone.level - 1 < len(policy.escalation_chain):
        role = policy.escalation_chain[milestone.level - 1]
    due = ticket.response_due_at if milestone.timer == "response" else ticket.resolution_due_at
    early = due is not None and due > ctx.now  # only a manual escalation comes before it
    text = headline(ticket, milestone.timer, milestone.kind, milestone.level, due or ctx.now,
                    ctx.timezone, role.value if role else None,
                    assignee.name if assignee else None, early)
    if reason:
        text += f" Reason: {reason}"
    channel = ctx.channels.get("sla")
    if milestone.kind == NEAR_BREACH:
        if assignee is not None:
            await notify_user(uow, ctx.now, assignee, "sla_warning", ticket,
                              timer=milestone.timer, due=local(due, ctx.timezone),
                              assignee=assignee.name)
        if channel:
            cache.message(ticket, "slack", channel, f":large_yellow_circle: {text}",
                          template="sla_warning")
        cache.event(ticket, AuditAction.SLA_WARNING, {"timer": milestone.timer})
    else:
        if channel:
            _channel_message(ticket, channel, text, cache)
        if role is not None:
            for person in await cache.people_with(role):
                target = address_of(person)
                if target:
                    cache.message(ticket, target[0], target[1], text)
        breached = milestone.kind == BREACH and not early
        action = AuditAction.SLA_BREACHED if breached else AuditAction.ESCALATED
        cache.event(ticket, action, {"timer": milestone.timer, "level": milestone.level,
                                     "role": role.value if role else None, "reason": reason},
                    actor)
    if own_cache:
        await cache.write()
    return text


def _channel_message(ticket: Ticket, channel: str, text: str, cache: _Cache) -> None:
    """One SLA-channel message per ticket; later stages update it and reply in its thread."""
    if ticket.id in cache.cards:
        # Two timers reached a stage in one sweep: the new card says both.
        card = cache.messages[cache.cards[ticket.id]]
        card["text"] += f"\n{text}"
        card["blocks"] = sla_card(ticket, card["text"], [])
        return
    if ticket.sla_message_id is None:
        cache.tickets[ticket.id] = ticket
        cache.cards[ticket.id] = cache.message(ticket, "slack", channel, text,
                                               blocks=sla_card(ticket, text, []),
                                               template="sla_breach")
        return
    cache.message(ticket, "slack", channel, text, blocks=sla_card(ticket, text, []),
                  update_of=ticket.sla_message_id)
    cache.message(ticket, "slack", channel, text, thread_of=ticket.sla_message_id)


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
    await announce(uow, ctx, ticket, policy, milestone, reason=reason, actor=actor)
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
