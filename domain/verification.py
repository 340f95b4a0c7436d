"""Verification checklists (SPEC 3.4): one template per ticket type; a step is complete when its
evidence is present."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.enums import TicketType
from domain.model import Attachment, Ticket, VerificationStep


@dataclass(frozen=True)
class StepTemplate:
    number: int
    name: str
    photo_required: bool = True
    needs_ont_serial: bool = False
    needs_rx: bool = False


INSTALLATION: tuple[StepTemplate, ...] = (
    StepTemplate(1, "Site Assessment"),
    StepTemplate(2, "Material Verification"),
    StepTemplate(3, "Fiber Installation"),
    StepTemplate(4, "Fiber Splicing"),
    StepTemplate(5, "ONT Installation", needs_ont_serial=True),
    StepTemplate(6, "Fiber Termination"),
    StepTemplate(7, "ONT Activation & Testing", needs_ont_serial=True, needs_rx=True),
    StepTemplate(8, "Signal Quality Test", needs_rx=True),
    StepTemplate(9, "End-to-End Connectivity", photo_required=False),
    StepTemplate(10, "Cable Management & Labeling"),
    StepTemplate(11, "Site Cleanup"),
    StepTemplate(12, "Documentation & Handover"),
)

FAULT_REPAIR: tuple[StepTemplate, ...] = (
    StepTemplate(1, "Fault Assessment"),
    StepTemplate(2, "Safety Check", photo_required=False),
    StepTemplate(3, "Root Cause Identification"),
    StepTemplate(4, "Repair Work"),
    StepTemplate(5, "Signal Verification", needs_rx=True),
    StepTemplate(6, "Connectivity Test", photo_required=False),
    StepTemplate(7, "Documentation"),
)

TEMPLATES: dict[str, tuple[StepTemplate, ...]] = {
    "installation": INSTALLATION,
    "fault_repair": FAULT_REPAIR,
}

TEMPLATE_BY_TYPE: dict[TicketType, str] = {
    TicketType.NEW_INSTALLATION: "installation",
    TicketType.MODIFICATION: "installation",
    TicketType.MAINTENANCE: "fault_repair",
    TicketType.INCIDENT: "fault_repair",
    TicketType.ONT_SWAP: "fault_repair",
}


def template_for(
    ticket_type: TicketType,
    templates: Mapping[str, tuple[StepTemplate, ...]] | None = None,
    by_type: Mapping[TicketType, str] | None = None,
) -> tuple[StepTemplate, ...]:
    """The checklist for a ticket type; deployments may pass their own templates."""
    templates = templates or TEMPLATES
    by_type = by_type or TEMPLATE_BY_TYPE
    return templates[by_type[ticket_type]]


def steps_for_ticket(ticket_id: int, ticket_type: TicketType) -> list[VerificationStep]:
    return [
        VerificationStep(
            ticket_id=ticket_id,
            number=s.number,
            name=s.name,
            photo_required=s.photo_required,
            needs_ont_serial=s.needs_ont_serial,
            needs_rx=s.needs_rx,
        )
        for s in template_for(ticket_type)
    ]


def step_is_complete(step: VerificationStep, ticket: Ticket, photo_steps: set[int],
                     marked_ok: bool) -> bool:
    if step.photo_required and step.number not in photo_steps:
        return False
    if not step.photo_required and not marked_ok:
        return False
    if step.needs_ont_serial and not (ticket.ont_serial and ticket.ont_serial.strip()):
        return False
    return not (step.needs_rx and ticket.ont_rx_level_dbm is None)


def recompute(
    steps: Sequence[VerificationStep],
    ticket: Ticket,
    attachments: Iterable[Attachment],
    now: datetime,
    actor_id: int | None,
) -> list[VerificationStep]:
    """Mark steps complete or incomplete from the evidence; return those newly complete."""
    photo_steps = {a.step_number for a in attachments if a.step_number is not None}
    became: list[VerificationStep] = []
    for step in steps:
        # A step without a photo is "marked ok" once someone confirmed it (its notes hold that).
        marked_ok = step.notes is not None
        complete = step_is_complete(step, ticket, photo_steps, marked_ok)
        if complete and not step.complete:
            step.complete = True
            step.completed_at = now
            step.completed_by_id = actor_id
            became.append(step)
        elif not complete and step.complete:
            step.complete = False
            step.completed_at = None
    return became


def progress(steps: Sequence[VerificationStep]) -> tuple[int, int]:
    return sum(1 for s in steps if s.complete), len(steps)


def progress_text(steps: Sequence[VerificationStep]) -> str:
    done, total = progress(steps)
    return f"{done}/{total}"
