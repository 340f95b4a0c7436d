"""Imperative mapping of the domain's dataclasses onto the tables (no ORM base in domain/)."""

from __future__ import annotations

from sqlalchemy.orm import registry

from domain import model
from storage import tables

mapper_registry = registry(metadata=tables.metadata)

_MAPPINGS = (
    (model.Contractor, tables.contractors),
    (model.User, tables.users),
    (model.Project, tables.projects),
    (model.DrRecord, tables.drs),
    (model.Ticket, tables.tickets),
    (model.TicketHold, tables.ticket_holds),
    (model.Note, tables.notes),
    (model.AuditEvent, tables.audit_events),
    (model.ApiToken, tables.api_tokens),
    (model.VerificationStep, tables.verification_steps),
    (model.Attachment, tables.attachments),
    (model.QaRun, tables.qa_runs),
    (model.OutboundMessage, tables.outbox),
    (model.RiskAcceptance, tables.risk_acceptances),
    (model.HandoverSnapshot, tables.handover_snapshots),
)


def start_mappers() -> None:
    """Idempotent: the CLI, the app and the tests may all call it."""
    if getattr(start_mappers, "done", False):
        return
    for cls, table in _MAPPINGS:
        mapper_registry.map_imperatively(cls, table)
    start_mappers.done = True  # type: ignore[attr-defined]
