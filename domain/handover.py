"""Handover gates and tamper-evident snapshots (SPEC 3.8)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from domain.enums import Status
from domain.model import Attachment, Ticket, VerificationStep


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    blocking: bool
    reason: str


def _filled(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def qa_to_maintenance_gates(
    ticket: Ticket,
    steps: Sequence[VerificationStep],
    attachments: Sequence[Attachment],
    risks_pending: int,
) -> list[GateResult]:
    missing_as_built = [name for name, value in (
        ("DR", ticket.dr_number), ("zone", ticket.zone), ("pole", ticket.pole_number),
        ("PON", ticket.pon_number)) if not _filled(value)]
    incomplete = [s.number for s in steps if not s.complete]
    gates = [
        (
            "qa_approved",
            ticket.status in (Status.QA_APPROVED, Status.PENDING_HANDOVER),
            f"QA has not approved it (status {ticket.status.value}).",
            True,
        ),
        (
            "as_built_confirmed",
            not missing_as_built,
            "As-built data missing: " + ", ".join(missing_as_built) + ".",
            True,
        ),
        ("photos_archived", len(attachments) > 0, "No photos are archived.", True),
        (
            "ont_recorded",
            _filled(ticket.ont_serial) and ticket.ont_rx_level_dbm is not None,
            "ONT serial and Rx level must both be recorded.",
            True,
        ),
        ("contractor_assigned", ticket.contractor_id is not None, "No contractor assigned.",
         True),
        (
            "no_pending_risk",
            risks_pending == 0,
            f"{risks_pending} risk acceptance(s) still wait for a decision.",
            True,
        ),
        (
            "verification_complete",
            not incomplete,
            "Verification steps not complete: " + ", ".join(map(str, incomplete)) + ".",
            False,
        ),
    ]
    return [GateResult(n, ok, blocking, "" if ok else reason) for n, ok, reason, blocking in gates]


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


_TICKET_FIELDS = (
    "ref", "title", "description", "status", "priority", "ticket_type", "source",
    "external_ref", "dr_number", "project_id", "zone", "pole_number", "pon_number", "address",
    "ont_serial", "ont_rx_level_dbm", "ont_model", "assignee_id", "contractor_id",
    "qa_ready", "qa_checked_at", "fault_cause", "fault_cause_details", "guarantee_status",
    "billing_classification", "rectification_count", "conditional_approval",
)


def build_snapshot(
    ticket: Ticket,
    steps: Iterable[VerificationStep],
    attachments: Iterable[Attachment],
    decisions: list[dict[str, Any]],
    handover_type: str,
    from_owner: str,
    to_owner: str,
    by_user_id: int | None,
    at: datetime,
) -> dict[str, Any]:
    steps = list(steps)
    return _plain({
        "handover_type": handover_type,
        "ticket": {f: getattr(ticket, f) for f in _TICKET_FIELDS},
        "verification": {
            "done": sum(1 for s in steps if s.complete),
            "total": len(steps),
            "steps": [{"number": s.number, "name": s.name, "complete": s.complete}
                      for s in steps],
        },
        "evidence": [
            {"sha256": a.sha256, "mimetype": a.mimetype, "step_number": a.step_number,
             "uploaded_at": a.created_at, "uploaded_by": a.uploaded_by_id}
            for a in attachments
        ],
        "decisions": decisions,
        "guarantee_status": ticket.guarantee_status,
        "from_owner": from_owner,
        "to_owner": to_owner,
        "handed_over_by": by_user_id,
        "at": at,
    })


def snapshot_hash(snapshot: dict[str, Any], previous_hash: str | None) -> str:
    canonical = json.dumps({"snapshot": snapshot, "previous_hash": previous_hash},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def verify_chain(chain: Sequence[tuple[dict[str, Any], str | None, str]]) -> bool:
    """Each (snapshot, previous_hash, hash): the hash matches and links to the one before."""
    previous = None
    for snapshot, previous_hash, digest in chain:
        if previous_hash != previous or snapshot_hash(snapshot, previous_hash) != digest:
            return False
        previous = digest
    return True
