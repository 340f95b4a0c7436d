"""Runs a parsed chat command through the domain services; one place for both chats."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from domain import permissions
from domain.context import Actor, Context
from domain.enums import Channel, Priority, Role, Source, Status, TicketType
from domain.errors import InvalidInput, NotFound
from domain.media_links import evidence_links
from domain.model import ChatReply, Ticket
from domain.ports import TicketQuery, UnitOfWork
from domain.services import qa as qa_service
from domain.services import tickets as ticket_service
from domain.services import work
from domain.services.moves import move
from domain.services.people import find_person
from domain.services.views import ticket_json
from handlers import grammar as g
from handlers.approvals import announce_decision
from handlers.replies import ticket_line, ticket_summary

CONTEXT_WINDOW = timedelta(minutes=30)
LIST_LIMIT = 15


async def context_ticket(uow: UnitOfWork, ctx: Context, actor: Actor) -> Ticket | None:
    """The ticket the sender last referred to within 30 minutes, if any."""
    if actor.user is None:
        return None
    ticket_id = await uow.inbound.context_ticket(actor.user.id, ctx.now - CONTEXT_WINDOW)
    return await uow.tickets.by_id(ticket_id) if ticket_id else None


async def _ticket_for(uow: UnitOfWork, ctx: Context, actor: Actor, ref: str | None,
                      usage: str, *, taking: bool = False) -> Ticket:
    """The named ticket, or the one the sender last referred to within 30 minutes."""
    if ref:
        ticket = await ticket_service.find_visible(uow, actor, ref, for_update=True,
                                                   taking=taking)
    else:
        ticket = await context_ticket(uow, ctx, actor)
        if ticket is None:
            raise InvalidInput(f"Which ticket? Name it, e.g. {usage}")
    if actor.user is not None:
        await uow.inbound.set_context(actor.user.id, ticket.id, ctx.now)
    return ticket


async def _resolve_person(uow: UnitOfWork, mention: g.Mention) -> int:
    if mention.slack_id:
        user = await uow.users.by_slack_id(mention.slack_id)
        if user:
            return user.id
    if mention.name:
        with contextlib.suppress(NotFound):
            return (await find_person(uow, mention.name)).id
    raise NotFound(f"{mention.name or mention.slack_id} is not a registered person.")


def _source(actor: Actor) -> Source:
    return {Channel.WHATSAPP: Source.WHATSAPP, Channel.SLACK: Source.SLACK}.get(
        actor.channel, Source.API
    )


async def execute(uow: UnitOfWork, ctx: Context, actor: Actor, cmd: Any, inbound: Any
                  ) -> ChatReply:
    channel = "slack" if actor.channel is Channel.SLACK else "whatsapp"
    if isinstance(cmd, g.Help):
        return ChatReply(g.help_text(channel))
    if isinstance(cmd, g.NewFault):
        return await _new_fault(uow, ctx, actor, cmd)
    if isinstance(cmd, g.ListTickets):
        return await _list(uow, ctx, actor, cmd)
    if isinstance(cmd, g.StepEvidence):
        return await _evidence(uow, ctx, actor, cmd, inbound)
    if isinstance(cmd, g.RiskDecision):
        risk, ticket = await qa_service.decide_risk(
            uow, ctx, actor, cmd.risk_id, cmd.approve, cmd.reason
        )
        assert actor.user is not None  # decide_risk refuses anyone else
        await announce_decision(uow, ctx, risk, ticket, actor.user)
        word = "approved" if cmd.approve else "rejected"
        return ChatReply(f"Risk acceptance #{risk.id} on {ticket.ref} {word}.", ticket.ref,
                         extra={"risk_decided": risk.id})
    if isinstance(cmd, g.RiskResolve):
        risk, ticket = await qa_service.resolve_risk(uow, ctx, actor, cmd.risk_id, cmd.notes)
        return ChatReply(f"Risk acceptance #{risk.id} on {ticket.ref} resolved.", ticket.ref,
                         extra={"ticket_id": ticket.id})
    if isinstance(cmd, g.Show):
        ticket = await _ticket_for(uow, ctx, actor, cmd.ref, g.USAGE["show"])
        view = await ticket_json(uow, ctx, ticket)
        extra: dict[str, Any] = {"ticket_id": ticket.id, "view": view}
        if actor.channel is Channel.SLACK:  # the card lists the evidence, with signed links
            extra["evidence"] = evidence_links(
                ctx.media_links, await uow.tickets.attachments(ticket.id), ctx.now)
        return ChatReply(ticket_summary(ctx, ticket, view), ticket.ref, extra=extra)
    if isinstance(cmd, g.NewModal):
        raise InvalidInput("Say what to log: new DR1234567 [priority] <what is wrong> "
                           "(in Slack, '/ticket new' alone opens a form).")
    handler = _TICKET_COMMANDS.get(type(cmd))
    if handler is None:
        raise InvalidInput(f"{type(cmd).__name__} is not available here yet.")
    usage = g.USAGE.get(handler[0], "")
    ticket = await _ticket_for(uow, ctx, actor, getattr(cmd, "ref", None), usage,
                               taking=isinstance(cmd, g.Take))
    text = await handler[1](uow, ctx, actor, ticket, cmd)
    return ChatReply(text, ticket.ref, extra={"ticket_id": ticket.id})


async def _new_fault(uow: UnitOfWork, ctx: Context, actor: Actor, cmd: Any) -> ChatReply:
    created = await ticket_service.create_ticket(
        uow, ctx, actor,
        ticket_service.NewTicket(
            title=cmd.description or None,
            description=cmd.description or None,
            dr_number=cmd.dr,
            priority=cmd.priority or Priority.NORMAL,
            ticket_type=cmd.ticket_type or TicketType.MAINTENANCE,
            source=_source(actor),
        ),
    )
    ticket = created.ticket
    if actor.user is not None:
        await uow.inbound.set_context(actor.user.id, ticket.id, ctx.now)
    lines = [f"Logged {ticket.ref} for {ticket.dr_number or 'no DR'} ({ticket.priority.value})."]
    where = [x for x in (ticket.pole_number and f"pole {ticket.pole_number}", ticket.pon_number,
                         ticket.zone) if x]
    if where:
        lines.append(" · ".join(where))
    if ticket.assignee_id == actor.id:
        lines.append(f"It is yours. Say 'start {ticket.ref}' when you begin, then send a photo "
                     f"per step captioned '{ticket.ref} step 1'.")
    lines.extend(created.warnings)
    return ChatReply("\n".join(lines), ticket.ref,
                     extra={"created": ticket.ref, "ticket_id": ticket.id})


async def _list(uow: UnitOfWork, ctx: Context, actor: Actor, cmd: Any) -> ChatReply:
    user = actor.user
    assert user is not None
    q = TicketQuery(open_only=True, limit=LIST_LIMIT)
    kind = cmd.filter
    if kind == "mine" and user.role is not Role.CONTRACTOR:  # a contractor's: the company's
        q.assignee_id = user.id
    if not permissions.can_see_all(user):
        q.visible_to = permissions.visibility(user)
    if kind == "unassigned":
        q.unassigned = True
    elif kind == "open":
        q.status = [Status.OPEN]
    elif kind == "zone":
        q.zone = cmd.value
    elif kind == "dr":
        q.dr = cmd.value
    elif kind == "breached":
        q.due_before = ctx.now
    found, total = await uow.tickets.search(q)
    if not found:
        return ChatReply("No tickets." if kind != "mine" else "You have no open tickets.")
    head = f"{total} ticket(s)" + (f", first {len(found)}:" if total > len(found) else ":")
    return ChatReply("\n".join([head, *(ticket_line(t) for t in found)]))


async def _evidence(uow: UnitOfWork, ctx: Context, actor: Actor, cmd: Any, inbound: Any
                    ) -> ChatReply:
    media = getattr(inbound, "media", None)
    if cmd.has_media and media is None:
        raise InvalidInput("I could not read that file; please send it again.")
    if cmd.ref is None and cmd.step is None and media is not None:
        # A bare photo: only the sender's context can say where it belongs.
        context_id = await uow.inbound.context_ticket(actor.user.id, ctx.now - CONTEXT_WINDOW)
        if context_id is None:
            return ChatReply(
                "Which ticket is this photo for? Send it again captioned e.g. "
                "'FF000123 step 3'."
            )
    ticket = await _ticket_for(uow, ctx, actor, cmd.ref, g.USAGE.get("step", ""))
    result = await work.add_evidence(
        uow, ctx, actor, ticket, cmd.step,
        sha256=media.sha256 if media else None,
        mimetype=media.mimetype if media else None,
        size=media.size if media else 0,
        source_message_id=getattr(inbound, "message_id", None),
        ok_text=cmd.ok_text,
    )
    if media is None:
        return ChatReply(f"{ticket.ref} step {cmd.step} done. Steps {result.progress}.",
                         ticket.ref)
    what = f"step {cmd.step}" if cmd.step else "the ticket (no step named)"
    if result.duplicate:
        return ChatReply(f"{ticket.ref}: I already have that photo for {what}. "
                         f"Steps {result.progress}.", ticket.ref)
    return ChatReply(f"{ticket.ref}: photo saved for {what}. Steps {result.progress}.",
                     ticket.ref)


# --- commands on one ticket ------------------------------------------------------------------


async def _status(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any
                  ) -> str:
    result = await move(uow, ctx, actor, ticket, cmd.status, reason=cmd.reason)
    if result is not None:
        return result.summary_text(ticket.ref)
    return f"{ticket.ref} is now {ticket.status.value}."


async def _ack(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    if await work.acknowledge(uow, ctx, actor, ticket):
        return f"{ticket.ref} acknowledged. Say 'start {ticket.ref}' when you begin."
    return f"{ticket.ref} was already acknowledged."


async def _start(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    if await work.start_work(uow, ctx, actor, ticket):
        return (f"{ticket.ref} is in progress. Send a photo per step captioned "
                f"'{ticket.ref} step N'.")
    return f"{ticket.ref} is already in progress."


async def _note(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    await ticket_service.add_note(uow, ctx, actor, ticket, cmd.text)
    return f"Note added to {ticket.ref}."


async def _reading(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any
                   ) -> str:
    warning = await work.record_reading(uow, ctx, actor, ticket, cmd.kind, cmd.value)
    labels = {"ont": "ONT serial", "rx": "Rx level", "pole": "Pole", "pon": "PON",
              "zone": "Zone"}
    value = f"{cmd.value} dBm" if cmd.kind == "rx" else cmd.value
    text = f"{ticket.ref}: {labels[cmd.kind]} {value} recorded."
    return f"{text}\n{warning}" if warning else text


async def _cause(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    await work.set_fault_cause(uow, ctx, actor, ticket, cmd.cause, cmd.details)
    billing = ticket.billing_classification or "pending"
    return f"{ticket.ref}: cause {cmd.cause.value} recorded (billing: {billing})."


async def _hold(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    await work.hold(uow, ctx, actor, ticket, cmd.reason, cmd.note)
    return (f"{ticket.ref} is on hold ({cmd.reason.value}); the SLA clock is paused. "
            f"Say 'resume {ticket.ref}' to carry on.")


async def _resume(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    status = await work.resume(uow, ctx, actor, ticket)
    return f"{ticket.ref} resumed ({status.value}); the SLA clock runs again."


async def _risk(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    risk = await work.request_risk(
        uow, ctx, actor, ticket, cmd.risk_type, cmd.until, cmd.description,
        followup_on=cmd.followup,
    )
    from handlers.approvals import announce_risk

    await announce_risk(uow, ctx, risk, ticket, actor)
    return (f"Risk acceptance #{risk.id} requested on {ticket.ref} ({risk.risk_type}, until "
            f"{risk.expires_on.isoformat()}). A manager will decide; I will tell you.")


async def _done(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    before = ticket.status
    result = await work.submit_done(uow, ctx, actor, ticket)
    text = result.summary_text(ticket.ref)
    if ticket.status is not before and ticket.status is Status.IN_PROGRESS:
        text += f"\n{ticket.ref} is now in progress."  # started on the way, and stays so
    return text


async def _assign(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    person = await _resolve_person(uow, cmd.assignee)
    await ticket_service.assign(uow, ctx, actor, ticket, person)
    assignee = await uow.users.by_id(person)
    return f"{ticket.ref} assigned to {assignee.name if assignee else person}."


async def _take(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    await ticket_service.assign(uow, ctx, actor, ticket, actor.id)
    return f"{ticket.ref} is yours now."


async def _priority(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any
                    ) -> str:
    await ticket_service.set_priority(uow, ctx, actor, ticket, cmd.priority)
    return f"{ticket.ref} is now {cmd.priority.value}."


async def _qa_start(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any
                    ) -> str:
    await qa_service.qa_start(uow, ctx, actor, ticket)
    return f"QA started on {ticket.ref}."


async def _qa_approve(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any
                      ) -> str:
    result = await qa_service.qa_approve(uow, ctx, actor, ticket, cmd.note)
    kind = "approved" if result.passed else "conditionally approved (active risk acceptance)"
    return f"{ticket.ref} {kind}."


async def _qa_reject(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any
                     ) -> str:
    await qa_service.qa_reject(uow, ctx, actor, ticket, cmd.reason)
    return (f"{ticket.ref} rejected (rectification {ticket.rectification_count}); "
            "the technician has been told why.")


async def _handover(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any
                    ) -> str:
    warnings = await qa_service.handover(uow, ctx, actor, ticket, cmd.kind)
    text = f"{ticket.ref}: handover {cmd.kind.value} done; it is now {ticket.status.value}."
    return "\n".join([text, *(f"Warning: {w}" for w in warnings)])


async def _close(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    await qa_service.close(uow, ctx, actor, ticket, cmd.resolution)
    return f"{ticket.ref} closed."


async def _cancel(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    await qa_service.cancel(uow, ctx, actor, ticket, cmd.reason)
    return f"{ticket.ref} cancelled."


async def _reopen(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any) -> str:
    await ticket_service.reopen(uow, ctx, actor, ticket, cmd.reason)
    return f"{ticket.ref} reopened ({ticket.status.value})."


async def _escalate(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, cmd: Any
                    ) -> str:
    from domain.services.sla_engine import escalate_now

    role = await escalate_now(uow, ctx, actor, ticket, cmd.reason)
    return f"{ticket.ref} escalated to the {role}s."


_TICKET_COMMANDS: dict[type, tuple[str, Any]] = {
    g.SetStatus: ("status", _status),
    g.Ack: ("ack", _ack),
    g.Start: ("start", _start),
    g.Note: ("note", _note),
    g.Reading: ("reading", _reading),
    g.SetCause: ("cause", _cause),
    g.Hold: ("hold", _hold),
    g.Resume: ("resume", _resume),
    g.RiskRequest: ("risk", _risk),
    g.Done: ("done", _done),
    g.Assign: ("assign", _assign),
    g.Take: ("take", _take),
    g.SetPriority: ("priority", _priority),
    g.QaStart: ("qa", _qa_start),
    g.QaApprove: ("qa", _qa_approve),
    g.QaReject: ("qa", _qa_reject),
    g.Handover: ("handover", _handover),
    g.Close: ("close", _close),
    g.Cancel: ("cancel", _cancel),
    g.Reopen: ("reopen", _reopen),
    g.Escalate: ("escalate", _escalate),
}
