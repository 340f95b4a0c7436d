"""Handover snapshots (SPEC 3.8): immutable, hashed, chained per ticket."""

from __future__ import annotations

from domain.context import Actor, Context
from domain.enums import AuditAction, HandoverType
from domain.handover import build_snapshot, snapshot_hash
from domain.model import HandoverSnapshot, Ticket
from domain.ports import UnitOfWork
from domain.services.audit import record
from domain.services.tickets import checklist as ticket_checklist

OWNERS = {
    HandoverType.BUILD_TO_QA: ("build", "qa"),
    HandoverType.QA_TO_MAINTENANCE: ("qa", "maintenance"),
    HandoverType.MAINTENANCE_COMPLETE: ("maintenance", "closed"),
}


async def write_snapshot(
    uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket, kind: HandoverType
) -> HandoverSnapshot:
    """Called in the transaction that moves the ticket, so the two commit together."""
    steps = await ticket_checklist(uow, ticket)
    attachments = await uow.tickets.attachments(ticket.id)
    decisions = [
        {
            "decision_type": "risk_acceptance",
            "risk_id": r.id,
            "risk_type": r.risk_type,
            "status": r.status,
            "decided_by": r.decided_by_id,
            "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            "notes": r.decision_reason,
        }
        for r in await uow.tickets.risks(ticket.id)
    ]
    last_qa = await uow.tickets.last_qa_run(ticket.id)
    if last_qa is not None:
        decisions.append({"decision_type": "qa_readiness", "passed": last_qa.passed,
                          "at": last_qa.created_at.isoformat()})
    from_owner, to_owner = OWNERS[kind]
    snapshot = build_snapshot(ticket, steps, attachments, decisions, kind.value, from_owner,
                              to_owner, actor.id, ctx.now)
    previous = await uow.tickets.last_snapshot(ticket.id)
    previous_hash = previous.hash if previous else None
    row = HandoverSnapshot(
        ticket_id=ticket.id,
        handover_type=kind.value,
        snapshot=snapshot,
        hash=snapshot_hash(snapshot, previous_hash),
        created_at=ctx.now,
        from_owner=from_owner,
        to_owner=to_owner,
        handed_over_by_id=actor.id,
        previous_hash=previous_hash,
    )
    await uow.tickets.add_snapshot(row)
    record(uow, ctx, actor, ticket, AuditAction.HANDOVER, None,
           {"type": kind.value, "from": from_owner, "to": to_owner, "hash": row.hash})
    return row
