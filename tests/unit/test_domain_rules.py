"""Verification, QA readiness, billing and handover rules as plain functions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.billing import apply_billing, billing_classification, guarantee_status
from domain.enums import (
    BillingClassification as B,
)
from domain.enums import (
    FaultCause,
    GuaranteeStatus,
    Priority,
    Source,
    Status,
    TicketType,
)
from domain.handover import build_snapshot, qa_to_maintenance_gates, snapshot_hash, verify_chain
from domain.model import Attachment, DrRecord, Project, Ticket
from domain.readiness import run_checks
from domain.verification import progress_text, recompute, steps_for_ticket, template_for

NOW = datetime(2026, 11, 17, 8, tzinfo=UTC)


def ticket(**kw: object) -> Ticket:
    base = dict(ref="FF000001", title="t", ticket_type=TicketType.MAINTENANCE,
                source=Source.API, priority=Priority.NORMAL, status=Status.IN_PROGRESS,
                created_at=NOW, updated_at=NOW, id=1)
    base.update(kw)
    return Ticket(**base)  # type: ignore[arg-type]


def photo(step: int) -> Attachment:
    return Attachment(ticket_id=1, sha256=f"{step:064d}", mimetype="image/png", size=10,
                      created_at=NOW, step_number=step)


def test_templates() -> None:
    install = template_for(TicketType.NEW_INSTALLATION)
    assert len(install) == 12 and [s.number for s in install if not s.photo_required] == [9]
    assert [s.number for s in install if s.needs_ont_serial] == [5, 7]
    assert [s.number for s in install if s.needs_rx] == [7, 8]
    repair = template_for(TicketType.ONT_SWAP)
    assert [s.name for s in repair if not s.photo_required] == ["Safety Check",
                                                                "Connectivity Test"]
    assert template_for(TicketType.MODIFICATION) == install


def test_steps_complete_from_evidence() -> None:
    t = ticket(ticket_type=TicketType.NEW_INSTALLATION)
    steps = steps_for_ticket(1, t.ticket_type)
    became = recompute(steps, t, [photo(1), photo(5), photo(7)], NOW, 9)
    assert [s.number for s in became] == [1]  # 5 and 7 wait for the ONT serial / Rx
    t.ont_serial = "ALCL1"
    assert [s.number for s in recompute(steps, t, [photo(5), photo(7), photo(1)], NOW, 9)] == [5]
    t.ont_rx_level_dbm = -20.0
    assert [s.number for s in recompute(steps, t, [photo(5), photo(7), photo(1)], NOW, 9)] == [7]
    assert progress_text(steps) == "3/12"


def ready_ticket() -> tuple[Ticket, list, list]:
    t = ticket(dr_number="DR1234567", pole_number="P1", pon_number="PON-1", zone="Z1",
               ont_serial="ALCL1", ont_rx_level_dbm=-20.0)
    steps = steps_for_ticket(1, t.ticket_type)
    attachments = [photo(n) for n in (1, 3, 4, 5, 7)]
    for s in steps:
        if not s.photo_required:
            s.notes = "ok"
    recompute(steps, t, attachments, NOW, 1)
    return t, steps, attachments


def test_readiness_passes_with_all_evidence() -> None:
    t, steps, attachments = ready_ticket()
    result = run_checks(t, steps, attachments, None)
    assert result.passed, result.to_json()
    assert "passed the readiness check" in result.summary_text(t.ref)


def test_readiness_names_every_failure_in_plain_words() -> None:
    t, steps, attachments = ready_ticket()
    t.pole_number = None
    t.ont_rx_level_dbm = -31.5
    result = run_checks(t, steps, attachments[:2], None)
    failed = {c.name for c in result.failed_blocking()}
    assert failed == {"photos_exist", "pole_populated", "ont_rx_in_range",
                      "verification_complete"}
    text = result.summary_text(t.ref)
    assert "step 4 (Repair Work)" in text and "-31.5 dBm is outside -28.0 to -8.0" in text
    assert "pole FF000001" in text


def test_platform_alignment_is_only_a_warning() -> None:
    t, steps, attachments = ready_ticket()
    register = DrRecord("DR1234567", pole="P2", pon="pon-1")
    result = run_checks(t, steps, attachments, register)
    assert result.passed
    assert [c.name for c in result.warnings()] == ["platforms_aligned"]
    assert "register says P2" in result.summary_text(t.ref)


@pytest.mark.parametrize(
    ("guarantee", "cause", "liable", "expected"),
    [
        (GuaranteeStatus.PENDING_CLASSIFICATION, FaultCause.WORKMANSHIP, True,
         (B.PENDING_CLASSIFICATION, False)),
        (GuaranteeStatus.UNDER_GUARANTEE, None, True, (B.PENDING_CLASSIFICATION, False)),
        (GuaranteeStatus.UNDER_GUARANTEE, FaultCause.UNKNOWN, True,
         (B.PENDING_CLASSIFICATION, False)),
        (GuaranteeStatus.OUT_OF_GUARANTEE, FaultCause.WORKMANSHIP, True,
         (B.CLIENT_OUT_OF_GUARANTEE, True)),
        (GuaranteeStatus.UNDER_GUARANTEE, FaultCause.WORKMANSHIP, True,
         (B.CONTRACTOR_UNDER_GUARANTEE, False)),
        (GuaranteeStatus.UNDER_GUARANTEE, FaultCause.WORKMANSHIP, False,
         (B.FREE_OF_CHARGE, False)),
        (GuaranteeStatus.UNDER_GUARANTEE, FaultCause.MATERIAL_FAILURE, True,
         (B.WARRANTY_CLAIM, False)),
        (GuaranteeStatus.UNDER_GUARANTEE, FaultCause.CLIENT_DAMAGE, True,
         (B.CLIENT_DAMAGE, True)),
        (GuaranteeStatus.UNDER_GUARANTEE, FaultCause.THIRD_PARTY, True,
         (B.THIRD_PARTY_DAMAGE, True)),
        (GuaranteeStatus.UNDER_GUARANTEE, FaultCause.ENVIRONMENTAL, True,
         (B.FREE_OF_CHARGE, False)),
        (GuaranteeStatus.UNDER_GUARANTEE, FaultCause.VANDALISM, True,
         (B.FREE_OF_CHARGE, False)),
    ],
)
def test_billing_matrix(guarantee, cause, liable, expected) -> None:
    assert billing_classification(guarantee, cause, liable) == expected


def test_guarantee_periods() -> None:
    project = Project("Lawley", installation_guarantee_days=90, material_guarantee_days=365)
    installed = date(2026, 9, 1)
    assert guarantee_status(project, installed, FaultCause.WORKMANSHIP, date(2026, 11, 30)) == (
        GuaranteeStatus.UNDER_GUARANTEE, date(2026, 11, 30))
    assert guarantee_status(project, installed, FaultCause.WORKMANSHIP, date(2026, 12, 1))[0] \
        is GuaranteeStatus.OUT_OF_GUARANTEE
    assert guarantee_status(project, installed, FaultCause.MATERIAL_FAILURE,
                            date(2027, 6, 1))[0] is GuaranteeStatus.UNDER_GUARANTEE
    assert guarantee_status(project, None, FaultCause.WORKMANSHIP, date(2026, 12, 1))[0] \
        is GuaranteeStatus.PENDING_CLASSIFICATION


def test_apply_billing_recomputes_on_cause_change() -> None:
    t = ticket(fault_cause=FaultCause.WORKMANSHIP)
    register = DrRecord("DR1", installed_on=date(2026, 10, 1))
    assert apply_billing(t, None, register, date(2026, 11, 17))
    assert t.billing_classification == B.CONTRACTOR_UNDER_GUARANTEE.value
    t.fault_cause = FaultCause.CLIENT_DAMAGE
    assert apply_billing(t, None, register, date(2026, 11, 17))
    assert (t.billing_classification, t.is_billable) == (B.CLIENT_DAMAGE.value, True)
    assert not apply_billing(t, None, register, date(2026, 11, 17))


def test_handover_gates_name_every_failure() -> None:
    t, steps, attachments = ready_ticket()
    t.status = Status.QA_APPROVED
    t.zone = None
    gates = qa_to_maintenance_gates(t, steps, attachments, risks_pending=1)
    failed = {g.name for g in gates if g.blocking and not g.passed}
    assert failed == {"as_built_confirmed", "contractor_assigned", "no_pending_risk"}
    t.zone, t.contractor_id = "Z1", 4
    assert all(g.passed for g in qa_to_maintenance_gates(t, steps, attachments, 0))


def test_snapshot_chain_detects_tampering() -> None:
    t, steps, attachments = ready_ticket()
    first = build_snapshot(t, steps, attachments, [], "build_to_qa", "build", "qa", 1, NOW)
    h1 = snapshot_hash(first, None)
    t.status = Status.HANDED_TO_MAINTENANCE
    second = build_snapshot(t, steps, attachments, [], "qa_to_maintenance", "qa",
                            "maintenance", 2, NOW)
    h2 = snapshot_hash(second, h1)
    assert verify_chain([(first, None, h1), (second, h1, h2)])
    tampered = dict(first, to_owner="someone else")
    assert not verify_chain([(tampered, None, h1), (second, h1, h2)])
    assert not verify_chain([(second, None, h2)])
