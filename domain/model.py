"""Entities. Plain dataclasses; storage maps them to tables imperatively, so the rules that
change them never see the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.enums import (
    AuditAction,
    Channel,
    FaultCause,
    HoldReason,
    Priority,
    Role,
    Source,
    Status,
    TicketType,
)


@dataclass(eq=False)
class Contractor:
    name: str
    id: int | None = None


@dataclass(eq=False)
class User:
    name: str
    role: Role
    phone: str | None = None
    slack_id: str | None = None
    email: str | None = None
    contractor_id: int | None = None
    active: bool = True
    id: int | None = None
    created_at: datetime | None = None

    def describe(self) -> str:
        return f"{self.name} ({self.role.value})"


@dataclass(eq=False)
class Project:
    name: str
    whatsapp_group: str | None = None
    installation_guarantee_days: int = 90
    material_guarantee_days: int = 365
    contractor_liable_during_guarantee: bool = True
    id: int | None = None


@dataclass(eq=False)
class DrRecord:
    dr_number: str
    pole: str | None = None
    pon: str | None = None
    zone: str | None = None
    project: str | None = None
    address: str | None = None
    installed_on: date | None = None
    ont_serial: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(eq=False)
class TicketRecord:
    """A ticket's fields as plain data. Ticket adds nothing but the database mapping, so a
    batch of new tickets (an import) is built as records, without the mapping's cost on
    every attribute."""

    ref: str
    title: str
    ticket_type: TicketType
    source: Source
    priority: Priority
    status: Status
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    external_ref: str | None = None
    # location
    dr_number: str | None = None
    dr_known: bool = False
    pole_number: str | None = None
    pon_number: str | None = None
    zone: str | None = None
    project_id: int | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    # equipment
    ont_serial: str | None = None
    ont_rx_level_dbm: float | None = None
    ont_model: str | None = None
    # assignment
    assignee_id: int | None = None
    contractor_id: int | None = None
    created_by_id: int | None = None
    # guarantee and billing
    guarantee_status: str | None = None
    guarantee_expires_at: date | None = None
    is_billable: bool | None = None
    billing_classification: str | None = None
    fault_cause: FaultCause | None = None
    fault_cause_details: str | None = None
    # QA
    qa_ready: bool = False
    qa_checked_at: datetime | None = None
    rectification_count: int = 0
    conditional_approval: bool = False
    # workflow
    held_from: Status | None = None
    hold_reason: HoldReason | None = None
    is_infrastructure: bool = False
    escalation_id: int | None = None
    # SLA: the policy is snapshotted when the clock starts (see domain/sla.py)
    sla_policy: dict[str, Any] | None = None
    sla_started_at: datetime | None = None
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    sla_next_check_at: datetime | None = None
    sla_message_id: int | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class Ticket(TicketRecord):
    """A ticket as the storage maps it (storage/orm.py)."""


@dataclass(eq=False)
class TicketHold:
    ticket_id: int
    started_at: datetime
    reason: HoldReason
    held_from: Status
    ended_at: datetime | None = None
    note: str | None = None
    id: int | None = None


@dataclass(eq=False)
class Note:
    ticket_id: int
    text: str
    channel: Channel
    created_at: datetime
    author_id: int | None = None
    id: int | None = None


@dataclass(eq=False)
class AuditEvent:
    action: AuditAction
    channel: Channel
    created_at: datetime
    ticket_id: int | None = None
    actor_id: int | None = None
    actor_role: str | None = None
    old_value: Any = None
    new_value: Any = None
    import_uid: str | None = None
    id: int | None = None


@dataclass(eq=False)
class ApiToken:
    user_id: int
    token_hash: str
    created_at: datetime
    name: str | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class VerificationStep:
    ticket_id: int
    number: int
    name: str
    photo_required: bool
    needs_ont_serial: bool = False
    needs_rx: bool = False
    complete: bool = False
    completed_at: datetime | None = None
    completed_by_id: int | None = None
    notes: str | None = None
    id: int | None = None


@dataclass(eq=False)
class Attachment:
    ticket_id: int
    sha256: str
    mimetype: str
    size: int
    created_at: datetime
    step_number: int | None = None
    filename: str | None = None
    uploaded_by_id: int | None = None
    source_message_id: str | None = None
    id: int | None = None


@dataclass(eq=False)
class QaRun:
    ticket_id: int
    passed: bool
    results: list[dict[str, Any]]
    created_at: datetime
    checked_by_id: int | None = None
    id: int | None = None


@dataclass(eq=False)
class OutboundMessage:
    """One message to send, written in the same transaction as the change that caused it."""

    channel: str  # "whatsapp" | "slack"
    address: str  # WhatsApp chat id or Slack channel/user id
    text: str
    created_at: datetime
    next_attempt_at: datetime
    template: str | None = None
    ticket_id: int | None = None
    blocks: list[dict[str, Any]] | None = None
    # Slack: update this earlier message in place (chat.update) instead of posting.
    update_of: int | None = None
    thread_of: int | None = None
    thread_ts: str | None = None  # Slack: answer in the thread of this message
    dedupe_key: str | None = None
    status: str = "pending"  # pending | sent | failed
    attempts: int = 0
    last_error: str | None = None
    external_id: str | None = None  # WAHA message id or Slack ts
    delivery_status: str | None = None  # sent | delivered | read | failed (WhatsApp acks)
    sent_at: datetime | None = None
    id: int | None = None


@dataclass
class ChatReply:
    """What a chat command answers to the person who sent it."""

    text: str
    ticket_ref: str | None = None
    blocks: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class RiskAcceptance:
    ticket_id: int
    risk_type: str
    description: str
    expires_on: date
    status: str
    requested_by_id: int
    created_at: datetime
    conditions: str | None = None
    followup_on: date | None = None
    requested_channel: str | None = None
    decided_by_id: int | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    resolution_notes: str | None = None
    resolved_at: datetime | None = None
    approval_message_id: int | None = None
    last_reminded_on: date | None = None
    id: int | None = None


@dataclass(eq=False)
class HandoverSnapshot:
    ticket_id: int
    handover_type: str
    snapshot: dict[str, Any]
    hash: str
    created_at: datetime
    from_owner: str | None = None
    to_owner: str | None = None
    handed_over_by_id: int | None = None
    previous_hash: str | None = None
    id: int | None = None
