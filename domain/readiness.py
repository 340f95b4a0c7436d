"""The QA readiness check (SPEC 3.5): blocking checks and one warning, in plain words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.model import Attachment, DrRecord, Ticket, VerificationStep
from domain.verification import step_is_complete

DEFAULT_RX_RANGE = (-28.0, -8.0)


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    blocking: bool
    reason: str


@dataclass
class ReadinessResult:
    passed: bool
    checks: list[CheckResult] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {"check": c.name, "passed": c.passed, "blocking": c.blocking, "reason": c.reason}
            for c in self.checks
        ]

    def failed_blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocking and not c.passed]

    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.blocking and not c.passed]

    def summary_text(self, ref: str) -> str:
        if self.passed:
            lines = [f"{ref} passed the readiness check and is with QA now."]
        else:
            lines = [f"{ref} is not ready for QA yet:"]
            lines += [f"- {c.reason}" for c in self.failed_blocking()]
            lines.append(f"Fix these, then say 'done {ref}' again.")
        lines += [f"Note: {c.reason}" for c in self.warnings()]
        return "\n".join(lines)


def _filled(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def _check(name: str, ok: bool, reason: str, blocking: bool = True) -> CheckResult:
    return CheckResult(name, ok, blocking, "" if ok else reason)


def run_checks(
    ticket: Ticket,
    steps: Sequence[VerificationStep],
    attachments: Iterable[Attachment],
    register: DrRecord | None,
    rx_range: tuple[float, float] = DEFAULT_RX_RANGE,
) -> ReadinessResult:
    ref = ticket.ref
    photo_steps = {a.step_number for a in attachments if a.step_number is not None}
    missing = [s for s in steps if s.photo_required and s.number not in photo_steps]
    missing_text = ", ".join(f"step {s.number} ({s.name})" for s in missing[:6])
    if len(missing) > 6:
        missing_text += f" and {len(missing) - 6} more"
    # Judged from the evidence itself, not from flags that may be stale.
    incomplete = [s for s in steps
                  if not step_is_complete(s, ticket, photo_steps, s.notes is not None)]
    low, high = rx_range
    rx = ticket.ont_rx_level_dbm
    checks = [
        _check("photos_exist", not missing, f"No photo yet for {missing_text}: send each "
               f"captioned '{ref} step N'."),
        _check("dr_populated", _filled(ticket.dr_number), "The DR number is missing."),
        _check("pole_populated", _filled(ticket.pole_number),
               f"The pole number is missing: send 'pole {ref} <pole>'."),
        _check("pon_populated", _filled(ticket.pon_number),
               f"The PON is missing: send 'pon {ref} <pon>'."),
        _check("zone_populated", _filled(ticket.zone),
               f"The zone is missing: send 'zone {ref} <zone>'."),
        _check("ont_serial_recorded", _filled(ticket.ont_serial),
               f"ONT serial not recorded: send 'ont {ref} <serial>'."),
        _check("ont_rx_recorded", rx is not None,
               f"Rx level not recorded: send 'rx {ref} -21.4'."),
        _check("ont_rx_in_range", rx is not None and low <= rx <= high,
               f"Rx level {rx} dBm is outside {low} to {high} dBm." if rx is not None
               else "Rx level unknown, so it cannot be checked against the allowed range."),
        _check("verification_complete", not incomplete,
               "Steps not complete: " + ", ".join(f"{s.number} ({s.name})"
                                                  for s in incomplete[:8]) + "."),
        _alignment(ticket, register),
    ]
    return ReadinessResult(all(c.passed for c in checks if c.blocking), checks)


def _alignment(ticket: Ticket, register: DrRecord | None) -> CheckResult:
    """A warning only: the ticket's location against the DR register."""
    if register is None:
        return _check("platforms_aligned", True, "", blocking=False)
    pairs = (("pole", ticket.pole_number, register.pole), ("PON", ticket.pon_number,
                                                          register.pon))
    differ = [
        f"{label} {mine} (register says {theirs})"
        for label, mine, theirs in pairs
        if _filled(mine)
        and _filled(theirs)
        and str(mine).strip().lower() != str(theirs).strip().lower()
    ]
    return _check("platforms_aligned", not differ,
                  "Does not match the DR register: " + "; ".join(differ) + ".", blocking=False)
