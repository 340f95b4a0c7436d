"""The schema. Alembic revisions under storage/migrations create exactly these tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from domain.enums import (
    AuditAction,
    Calendar,
    Channel,
    FaultCause,
    HoldReason,
    Priority,
    Role,
    Source,
    Status,
    TicketType,
)
from storage.types import EnumText, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (the rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, **kw: object) -> Column:
    return Column(name, Id, ForeignKey(target), **kw)


contractors = Table(
    "contractors",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
)

users = Table(
    "users",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("role", EnumText(Role), nullable=False),
    Column("phone", String(20), unique=True),
    Column("slack_id", String(40), unique=True),
    Column("email", String(254), unique=True),
    _fk("contractor_id", "contractors.id"),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime),
)

projects = Table(
    "projects",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("whatsapp_group", String(100), unique=True),
    Column("installation_guarantee_days", Integer, nullable=False, default=90),
    Column("material_guarantee_days", Integer, nullable=False, default=365),
    Column("contractor_liable_during_guarantee", Boolean, nullable=False, default=True),
)

drs = Table(
    "drs",
    metadata,
    Column("dr_number", String(12), primary_key=True),
    Column("pole", String(60)),
    Column("pon", String(60)),
    Column("zone", String(60)),
    Column("project", String(200)),
    Column("address", Text),
    Column("installed_on", Date),
    Column("ont_serial", String(100)),
    Column("latitude", Float),
    Column("longitude", Float),
)

# SQLite has no sequences: one counter row per name, bumped inside the creating transaction.
counters = Table(
    "counters",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

sla_policies = Table(
    "sla_policies",
    metadata,
    Column("priority", EnumText(Priority), primary_key=True),
    Column("response_minutes", Integer, nullable=False),
    Column("resolution_minutes", Integer, nullable=False),
    Column("calendar", EnumText(Calendar), nullable=False),
    Column("escalation_chain", JSON, nullable=False),
    Column("near_breach_ratio", Float, nullable=False, default=0.8),
)

tickets = Table(
    "tickets",
    metadata,
    _id(),
    Column("ref", String(16), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("description", Text),
    Column("ticket_type", EnumText(TicketType), nullable=False),
    Column("source", EnumText(Source), nullable=False),
    Column("external_ref", String(40), index=True),
    Column("priority", EnumText(Priority), nullable=False),
    Column("status", EnumText(Status), nullable=False, index=True),
    Column("dr_number", String(12), index=True),
    Column("dr_known", Boolean, nullable=False, default=False),
    Column("pole_number", String(60), index=True),
    Column("pon_number", String(60), index=True),
    Column("zone", String(60), index=True),
    _fk("project_id", "projects.id"),
    Column("address", Text),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("ont_serial", String(100)),
    Column("ont_rx_level_dbm", Float),
    Column("ont_model", String(100)),
    _fk("assignee_id", "users.id", index=True),
    _fk("contractor_id", "contractors.id", index=True),
    _fk("created_by_id", "users.id"),
    Column("guarantee_status", String(30)),
    Column("guarantee_expires_at", Date),
    Column("is_billable", Boolean),
    Column("billing_classification", String(40)),
    Column("fault_cause", EnumText(FaultCause)),
    Column("fault_cause_details", Text),
    Column("qa_ready", Boolean, nullable=False, default=False),
    Column("qa_checked_at", UtcDateTime),
    Column("rectification_count", Integer, nullable=False, default=0),
    Column("conditional_approval", Boolean, nullable=False, default=False),
    Column("held_from", EnumText(Status)),
    Column("hold_reason", EnumText(HoldReason)),
    Column("is_infrastructure", Boolean, nullable=False, default=False),
    Column("escalation_id", Id),
    Column("sla_policy", JSON),
    Column("sla_started_at", UtcDateTime),
    Column("response_due_at", UtcDateTime),
    Column("resolution_due_at", UtcDateTime),
    # The earliest moment the SLA sweep has something to say about this ticket; the sweep
    # reads only rows whose moment has come, so its cost follows the due tickets.
    Column("sla_next_check_at", UtcDateTime, index=True),
    # The one SLA-channel message of this ticket (an outbox id), updated in place later.
    Column("sla_message_id", Id),
    Column("first_response_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

ticket_holds = Table(
    "ticket_holds",
    metadata,
    _id(),
    _fk("ticket_id", "tickets.id", nullable=False, index=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("reason", EnumText(HoldReason), nullable=False),
    Column("held_from", EnumText(Status), nullable=False),
    Column("note", Text),
)

notes = Table(
    "notes",
    metadata,
    _id(),
    _fk("ticket_id", "tickets.id", nullable=False, index=True),
    _fk("author_id", "users.id"),
    Column("channel", EnumText(Channel), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    _id(),
    _fk("ticket_id", "tickets.id", index=True),
    _fk("actor_id", "users.id"),
    Column("actor_role", String(20)),
    Column("channel", EnumText(Channel), nullable=False),
    Column("action", EnumText(AuditAction), nullable=False),
    Column("old_value", JSON),
    Column("new_value", JSON),
    Column("import_uid", String(20)),
    Column("created_at", UtcDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    _fk("user_id", "users.id", nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(100)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)

verification_steps = Table(
    "verification_steps",
    metadata,
    _id(),
    _fk("ticket_id", "tickets.id", nullable=False),
    Column("number", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("photo_required", Boolean, nullable=False),
    Column("needs_ont_serial", Boolean, nullable=False, default=False),
    Column("needs_rx", Boolean, nullable=False, default=False),
    Column("complete", Boolean, nullable=False, default=False),
    Column("completed_at", UtcDateTime),
    _fk("completed_by_id", "users.id"),
    Column("notes", Text),
    UniqueConstraint("ticket_id", "number", name="uq_verification_steps_ticket_number"),
)

attachments = Table(
    "attachments",
    metadata,
    _id(),
    _fk("ticket_id", "tickets.id", nullable=False, index=True),
    Column("step_number", Integer),
    Column("sha256", String(64), nullable=False),
    Column("mimetype", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("filename", String(255)),
    _fk("uploaded_by_id", "users.id"),
    Column("source_message_id", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
)

qa_runs = Table(
    "qa_runs",
    metadata,
    _id(),
    _fk("ticket_id", "tickets.id", nullable=False, index=True),
    Column("passed", Boolean, nullable=False),
    Column("results", JSON, nullable=False),
    _fk("checked_by_id", "users.id"),
    Column("created_at", UtcDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("channel", String(20), nullable=False),
    Column("address", String(120), nullable=False),
    Column("text", Text, nullable=False),
    Column("blocks", JSON),
    Column("template", String(40)),
    _fk("ticket_id", "tickets.id"),
    Column("update_of", Id),
    Column("thread_of", Id),
    Column("thread_ts", String(40)),
    Column("dedupe_key", String(200)),
    Column("status", String(12), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
    Column("external_id", String(200), index=True),
    Column("delivery_status", String(12)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    Index("ix_outbox_dedupe", "dedupe_key", "created_at"),
    Index("ix_outbox_address", "address", "id"),
)

# One row per inbound event already handled: the webhooks' idempotency.
inbound_events = Table(
    "inbound_events",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("received_at", UtcDateTime, nullable=False),
)

# WhatsApp events as they arrived, before they are applied: the webhook only writes here (one
# statement, then 200), the inbox worker applies them in order per chat (handlers/whatsapp).
waha_inbox = Table(
    "waha_inbox",
    metadata,
    _id(),
    Column("key", String(255), nullable=False, unique=True),
    Column("chat", String(120), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("claimed_until", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("processed_at", UtcDateTime),
    Column("last_error", Text),
    Index("ix_waha_inbox_pending", "processed_at", "id"),
    Index("ix_waha_inbox_chat", "chat", "id"),
)

chat_context = Table(
    "chat_context",
    metadata,
    _fk("user_id", "users.id", primary_key=True),
    _fk("ticket_id", "tickets.id", nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

unknown_senders = Table(
    "unknown_senders",
    metadata,
    Column("address", String(120), primary_key=True),
    Column("last_replied_on", Date, nullable=False),
)

lid_cache = Table(
    "lid_cache",
    metadata,
    Column("lid", String(120), primary_key=True),
    Column("phone", String(20), nullable=False),
    Column("resolved_at", UtcDateTime, nullable=False),
)

risk_acceptances = Table(
    "risk_acceptances",
    metadata,
    _id(),
    _fk("ticket_id", "tickets.id", nullable=False, index=True),
    Column("risk_type", String(40), nullable=False),
    Column("description", Text, nullable=False),
    Column("conditions", Text),
    Column("expires_on", Date, nullable=False),
    Column("followup_on", Date),
    Column("status", String(20), nullable=False, index=True),
    _fk("requested_by_id", "users.id", nullable=False),
    Column("requested_channel", String(20)),
    _fk("decided_by_id", "users.id"),
    Column("decided_at", UtcDateTime),
    Column("decision_reason", Text),
    Column("resolution_notes", Text),
    Column("resolved_at", UtcDateTime),
    Column("approval_message_id", Id),
    Column("last_reminded_on", Date),
    Column("created_at", UtcDateTime, nullable=False),
)

handover_snapshots = Table(
    "handover_snapshots",
    metadata,
    _id(),
    _fk("ticket_id", "tickets.id", nullable=False, index=True),
    Column("handover_type", String(30), nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("from_owner", String(40)),
    Column("to_owner", String(40)),
    _fk("handed_over_by_id", "users.id"),
    Column("previous_hash", String(64)),
    Column("hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

escalations = Table(
    "escalations",
    metadata,
    _id(),
    Column("scope_type", String(10), nullable=False),
    Column("scope_value", String(100), nullable=False),
    Column("fault_count", Integer, nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("contributing_tickets", JSON, nullable=False),
    _fk("infrastructure_ticket_id", "tickets.id"),
    Column("status", String(20), nullable=False),
    # Set while the escalation is open, NULL once resolved: a unique key on it makes a second
    # open escalation for one scope impossible, whichever process detects it.
    Column("open_scope", String(120), unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
)

sla_announcements = Table(
    "sla_announcements",
    metadata,
    _id(),
    _fk("ticket_id", "tickets.id", nullable=False),
    Column("timer", String(12), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("level", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("message_id", Id),
    UniqueConstraint("ticket_id", "timer", "kind", "level", name="uq_sla_announcements_key"),
)

import_reports = Table(
    "import_reports",
    metadata,
    _id(),
    Column("uid", String(40), nullable=False, unique=True),
    Column("report_uid", String(20), nullable=False, index=True),
    Column("filename", String(255)),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("total_rows", Integer, nullable=False, default=0),
    Column("created_count", Integer, nullable=False, default=0),
    Column("updated_count", Integer, nullable=False, default=0),
    Column("unchanged_count", Integer, nullable=False, default=0),
    Column("error_count", Integer, nullable=False, default=0),
    Column("warning_count", Integer, nullable=False, default=0),
    Column("issues", JSON, nullable=False),
    _fk("imported_by_id", "users.id"),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
)

# A daily job (risk expiry, digest) runs once a day whichever process gets there first.
daily_runs = Table(
    "daily_runs",
    metadata,
    Column("job", String(40), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("ran_at", UtcDateTime, nullable=False),
)

# Secrets the service makes for itself, generated once per database so that every process
# and every restart agrees on them (the media-link signing key, unless configured).
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
