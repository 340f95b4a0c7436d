"""Guarantee and billing classification (SPEC 3.6; domain reference section 7)."""

from __future__ import annotations

from datetime import date, timedelta

from domain.enums import BillingClassification, FaultCause, GuaranteeStatus
from domain.model import DrRecord, Project, Ticket

B = BillingClassification


def contractor_liable(cause: FaultCause | None) -> bool:
    return cause is FaultCause.WORKMANSHIP


def guarantee_status(
    project: Project | None, installed_on: date | None, cause: FaultCause | None, today: date
) -> tuple[GuaranteeStatus, date | None]:
    """Workmanship is covered by the installation guarantee; everything else by the
    (longer) material guarantee, which is what the supplier and the client rely on."""
    if installed_on is None:
        return GuaranteeStatus.PENDING_CLASSIFICATION, None
    install_days = project.installation_guarantee_days if project else 90
    material_days = project.material_guarantee_days if project else 365
    days = install_days if cause is FaultCause.WORKMANSHIP else material_days
    expires = installed_on + timedelta(days=days)
    status = GuaranteeStatus.UNDER_GUARANTEE if today <= expires else \
        GuaranteeStatus.OUT_OF_GUARANTEE
    return status, expires


def billing_classification(
    guarantee: GuaranteeStatus, cause: FaultCause | None, liable_flag: bool = True
) -> tuple[BillingClassification, bool]:
    """(classification, is_billable) per the matrix."""
    if guarantee is GuaranteeStatus.PENDING_CLASSIFICATION:
        return B.PENDING_CLASSIFICATION, False
    if cause is None or cause is FaultCause.UNKNOWN:
        return B.PENDING_CLASSIFICATION, False
    if guarantee is GuaranteeStatus.OUT_OF_GUARANTEE:
        return B.CLIENT_OUT_OF_GUARANTEE, True
    if cause is FaultCause.WORKMANSHIP:
        return (B.CONTRACTOR_UNDER_GUARANTEE if liable_flag else B.FREE_OF_CHARGE), False
    if cause is FaultCause.MATERIAL_FAILURE:
        return B.WARRANTY_CLAIM, False
    if cause is FaultCause.CLIENT_DAMAGE:
        return B.CLIENT_DAMAGE, True
    if cause is FaultCause.THIRD_PARTY:
        return B.THIRD_PARTY_DAMAGE, True
    return B.FREE_OF_CHARGE, False  # environmental, vandalism


def apply_billing(ticket: Ticket, project: Project | None, register: DrRecord | None,
                  today: date) -> bool:
    """Recompute the ticket's guarantee and billing fields; True if anything changed."""
    status, expires = guarantee_status(
        project, register.installed_on if register else None, ticket.fault_cause, today
    )
    liable = project.contractor_liable_during_guarantee if project else True
    classification, billable = billing_classification(status, ticket.fault_cause, liable)
    before = (ticket.guarantee_status, ticket.guarantee_expires_at,
              ticket.billing_classification, ticket.is_billable)
    ticket.guarantee_status = status.value
    ticket.guarantee_expires_at = expires
    ticket.billing_classification = classification.value
    ticket.is_billable = billable
    return before != (ticket.guarantee_status, ticket.guarantee_expires_at,
                      ticket.billing_classification, ticket.is_billable)
