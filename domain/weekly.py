"""One weekly-report row, checked and made typed (SPEC 7). Pure: no workbook library here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from domain import refs
from domain.enums import FaultCause, Priority, Status, TicketType, parse_priority

# Human forms of the statuses seen in reports, beyond the contract values themselves.
_STATUS_WORDS = {"new": Status.OPEN, "in progress": Status.IN_PROGRESS,
                 "pending qa": Status.PENDING_QA, "qa approved": Status.QA_APPROVED,
                 "qa rejected": Status.QA_REJECTED, "on hold": Status.ON_HOLD,
                 "handed to maintenance": Status.HANDED_TO_MAINTENANCE, "done": Status.CLOSED,
                 "resolved": Status.CLOSED, "canceled": Status.CANCELLED}
_TYPE_WORDS = {"installation": TicketType.NEW_INSTALLATION, "fault": TicketType.MAINTENANCE,
               "new installation": TicketType.NEW_INSTALLATION,
               "ont swap": TicketType.ONT_SWAP}


class RawRowLike(Protocol):
    row_number: int
    values: dict[str, Any]


@dataclass(frozen=True)
class RowIssue:
    row_number: int
    column: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row_number, "column": self.column, "reason": self.reason}


@dataclass
class ImportRow:
    row_number: int
    ref: str | None = None
    external_ref: str | None = None
    dr: str | None = None
    title: str | None = None
    description: str | None = None
    ticket_type: TicketType | None = None
    priority: Priority | None = None
    status: Status | None = None
    pole: str | None = None
    pon: str | None = None
    zone: str | None = None
    project: str | None = None
    address: str | None = None
    assigned_to: str | None = None
    contractor: str | None = None
    fault_cause: FaultCause | None = None
    date: date | None = None
    warnings: list[RowIssue] = field(default_factory=list)


@dataclass
class RowResult:
    row: ImportRow | None
    errors: list[RowIssue]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def parse_status(text: str) -> Status | None:
    word = " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
    if word in _STATUS_WORDS:
        return _STATUS_WORDS[word]
    try:
        return Status(word.replace(" ", "_"))
    except ValueError:
        return None


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def validate_row(raw: RawRowLike, headers: dict[str, str] | None = None) -> RowResult:
    headers = headers or {}
    n = raw.row_number
    v = raw.values
    errors: list[RowIssue] = []

    def issue(column: str, reason: str) -> None:
        errors.append(RowIssue(n, headers.get(column, column), reason))

    row = ImportRow(n)
    ref_text = _text(v.get("ref"))
    if ref_text:
        row.ref = refs.normalise_ref(ref_text)
        if row.ref is None:
            issue("ref", f"'{ref_text}' is not a ticket ref (FF000123)")
    ext = _text(v.get("external_ref"))
    row.external_ref = ext.upper() if ext else None
    dr_text = _text(v.get("dr"))
    if dr_text:
        row.dr = refs.normalise_dr(dr_text)
        if row.dr is None:
            issue("dr", f"'{dr_text}' is not a DR number (DR and 6 to 8 digits)")
    if not ref_text and not ext and not dr_text:
        issue("dr", "the row has neither a ref nor a DR number")
    for key, attr in (("title", "title"), ("description", "description"), ("pole", "pole"),
                      ("pon", "pon"), ("zone", "zone"), ("project", "project"),
                      ("address", "address"), ("assigned_to", "assigned_to"),
                      ("contractor", "contractor")):
        setattr(row, attr, _text(v.get(key)))
    text = _text(v.get("priority"))
    if text:
        row.priority = parse_priority(text)
        if row.priority is None:
            issue("priority", f"'{text}' is not a priority (low, normal, high, urgent, "
                              "critical, P1-P4)")
    text = _text(v.get("status"))
    if text:
        row.status = parse_status(text)
        if row.status is None:
            issue("status", f"'{text}' is not a status")
    text = _text(v.get("type"))
    if text:
        word = text.lower().replace("-", " ")
        row.ticket_type = _TYPE_WORDS.get(word)
        if row.ticket_type is None:
            try:
                row.ticket_type = TicketType(word.replace(" ", "_"))
            except ValueError:
                issue("type", f"'{text}' is not a ticket type")
    text = _text(v.get("fault_cause"))
    if text:
        try:
            row.fault_cause = FaultCause(text.lower().replace(" ", "_").replace("-", "_"))
        except ValueError:
            issue("fault_cause", f"'{text}' is not a fault cause")
    value = v.get("date")
    if value not in (None, ""):
        try:
            row.date = parse_date(value)
        except ValueError:
            issue("date", f"'{value}' is not a date (22/11/2026 or 2026-11-22)")
    return RowResult(None if errors else row, errors)


def report_uid(dates: Iterable[date], fallback: date) -> str:
    """`WR{year}-W{week}` from the week most of the rows' dates fall in."""
    weeks = Counter(d.isocalendar()[:2] for d in dates)
    year, week = weeks.most_common(1)[0][0] if weeks else fallback.isocalendar()[:2]
    return f"WR{year}-W{week:02d}"
