"""Closed value sets of the product (SPEC sections 3 and 4). Values are contract strings."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    TECHNICIAN = "technician"
    CONTRACTOR = "contractor"
    QA = "qa"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_ROLE_RANK = {
    Role.TECHNICIAN: 0,
    Role.CONTRACTOR: 1,
    Role.QA: 2,
    Role.SUPERVISOR: 3,
    Role.MANAGER: 4,
    Role.ADMIN: 5,
}


class Status(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    PENDING_QA = "pending_qa"
    QA_IN_PROGRESS = "qa_in_progress"
    QA_REJECTED = "qa_rejected"
    QA_APPROVED = "qa_approved"
    PENDING_HANDOVER = "pending_handover"
    HANDED_TO_MAINTENANCE = "handed_to_maintenance"
    CLOSED = "closed"
    CANCELLED = "cancelled"


CLOSED_STATUSES = frozenset({Status.CLOSED, Status.CANCELLED})


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"
    CRITICAL = "critical"


PRIORITY_ALIASES: dict[str, Priority] = {
    "medium": Priority.NORMAL,
    "p1": Priority.CRITICAL,
    "p2": Priority.HIGH,
    "p3": Priority.NORMAL,
    "p4": Priority.LOW,
}


def parse_priority(text: str) -> Priority | None:
    """Priority from a name or alias (`medium`, `P1`..`P4`), case-insensitive; None if unknown."""
    word = text.strip().lower()
    if word in PRIORITY_ALIASES:
        return PRIORITY_ALIASES[word]
    try:
        return Priority(word)
    except ValueError:
        return None


class TicketType(StrEnum):
    MAINTENANCE = "maintenance"
    NEW_INSTALLATION = "new_installation"
    MODIFICATION = "modification"
    ONT_SWAP = "ont_swap"
    INCIDENT = "incident"


class Source(StrEnum):
    QCONTACT = "qcontact"
    WEEKLY_REPORT = "weekly_report"
    CONSTRUCTION = "construction"
    AD_HOC = "ad_hoc"
    INCIDENT = "incident"
    REVENUE = "revenue"
    ONT_SWAP = "ont_swap"
    WHATSAPP = "whatsapp"
    SLACK = "slack"
    API = "api"


class Channel(StrEnum):
    """Where a change came from (audit) or where a message goes (outbox)."""

    WHATSAPP = "whatsapp"
    SLACK = "slack"
    API = "api"
    CLI = "cli"
    IMPORT = "import"
    SYSTEM = "system"


class HoldReason(StrEnum):
    AWAITING_PARTS = "awaiting_parts"
    AWAITING_CUSTOMER = "awaiting_customer"
    AWAITING_THIRD_PARTY = "awaiting_third_party"
    WEATHER = "weather"
    OTHER = "other"


HOLD_REASON_ALIASES: dict[str, HoldReason] = {
    "parts": HoldReason.AWAITING_PARTS,
    "material": HoldReason.AWAITING_PARTS,
    "customer": HoldReason.AWAITING_CUSTOMER,
    "client": HoldReason.AWAITING_CUSTOMER,
    "third_party": HoldReason.AWAITING_THIRD_PARTY,
    "thirdparty": HoldReason.AWAITING_THIRD_PARTY,
    "rain": HoldReason.WEATHER,
}


def parse_hold_reason(text: str) -> HoldReason | None:
    word = text.strip().lower().replace("-", "_")
    if word in HOLD_REASON_ALIASES:
        return HOLD_REASON_ALIASES[word]
    try:
        return HoldReason(word)
    except ValueError:
        return None


class FaultCause(StrEnum):
    WORKMANSHIP = "workmanship"
    MATERIAL_FAILURE = "material_failure"
    CLIENT_DAMAGE = "client_damage"
    THIRD_PARTY = "third_party"
    ENVIRONMENTAL = "environmental"
    VANDALISM = "vandalism"
    UNKNOWN = "unknown"


class GuaranteeStatus(StrEnum):
    UNDER_GUARANTEE = "under_guarantee"
    OUT_OF_GUARANTEE = "out_of_guarantee"
    PENDING_CLASSIFICATION = "pending_classification"


class BillingClassification(StrEnum):
    PENDING_CLASSIFICATION = "pending_classification"
    CLIENT_OUT_OF_GUARANTEE = "client_out_of_guarantee"
    CONTRACTOR_UNDER_GUARANTEE = "contractor_under_guarantee"
    FREE_OF_CHARGE = "free_of_charge"
    WARRANTY_CLAIM = "warranty_claim"
    CLIENT_DAMAGE = "client_damage"
    THIRD_PARTY_DAMAGE = "third_party_damage"


class RiskType(StrEnum):
    MINOR_DEFECT = "minor_defect"
    DOCUMENTATION_GAP = "documentation_gap"
    PENDING_MATERIAL = "pending_material"
    TEMPORARY_FIX = "temporary_fix"
    COSMETIC_ISSUE = "cosmetic_issue"
    CLIENT_REQUESTED = "client_requested"
    WEATHER_DEPENDENT = "weather_dependent"
    PENDING_THIRD_PARTY = "pending_third_party"
    OTHER = "other"


class RiskStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    REJECTED = "rejected"
    RESOLVED = "resolved"
    EXPIRED = "expired"
    ESCALATED = "escalated"


class HandoverType(StrEnum):
    BUILD_TO_QA = "build_to_qa"
    QA_TO_MAINTENANCE = "qa_to_maintenance"
    MAINTENANCE_COMPLETE = "maintenance_complete"


class TimerState(StrEnum):
    ON_TRACK = "on_track"
    NEAR_BREACH = "near_breach"
    BREACHED = "breached"
    MET = "met"
    PAUSED = "paused"


class Calendar(StrEnum):
    ALWAYS = "24x7"
    BUSINESS = "business"


class AuditAction(StrEnum):
    CREATED = "created"
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"
    PRIORITY_CHANGED = "priority_changed"
    NOTE_ADDED = "note_added"
    ATTACHMENT_ADDED = "attachment_added"
    STEP_COMPLETED = "step_completed"
    READING_RECORDED = "reading_recorded"
    FAULT_CAUSE_SET = "fault_cause_set"
    QA_CHECK_RUN = "qa_check_run"
    RISK_REQUESTED = "risk_requested"
    RISK_DECIDED = "risk_decided"
    RISK_RESOLVED = "risk_resolved"
    RISK_EXPIRED = "risk_expired"
    HANDOVER = "handover"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    ESCALATED = "escalated"
    REOPENED = "reopened"
    IMPORTED = "imported"
    UPDATED = "updated"
