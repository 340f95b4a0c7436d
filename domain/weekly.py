"""One weekly-report row, checked and made typed (SPEC 7). Pure: no workbook library here, so
the same rules apply to an .xlsx, a .csv or anything else that hands us cells by column name."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from domain import refs
from domain.enums import FaultCause, Priority, Status, TicketType, parse_priority

E = TypeVar("E", bound=StrEnum)

# Free-text columns copied as they are (stripped); key in RawRow.values == ImportRow attribute.
_TEXT_COLUMNS = ("title", "description", "pole", "pon", "zone", "project", "address",
                 "assigned_to", "contractor")
# The longest value each stored column takes (storage/tables.py): longer is a row error rather
# than a database refusal.
_LONGEST = {"external_ref": 40, "title": 300, "pole": 60, "pon": 60, "zone": 60,
            "contractor": 200}
_DATE_FORMATS = ("%d/%m/%Y",)  # day-first, as South African sheets write it; ISO handled apart


class RawRowLike(Protocol):
    """A sheet row as the reader hands it out: Excel's row number and cells by canonical name."""

    @property
    def row_number(self) -> int: ...

    @property
    def values(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class RowIssue:
    row_number: int  # as Excel shows it
    column: str  # the header text as found in the file, else the canonical name
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
    """Either `row` (valid) or `errors` (at least one); never both."""

    row: ImportRow | None
    errors: list[RowIssue]

    @property
    def ok(self) -> bool:
        return self.row is not None


def _text(value: Any) -> str | None:
    """Cell -> stripped text, None when empty. Whole floats lose the `.0` Excel gives them."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _word(text: str) -> str:
    """`Pending QA`, `pending-qa`, ` Pending  QA ` -> `pending_qa`."""
    return "_".join(text.lower().replace("-", " ").replace("_", " ").split())


def _closed_set(kind: type[E]) -> Callable[[str], E | None]:
    def parse(text: str) -> E | None:
        try:
            return kind(_word(text))
        except ValueError:
            return None

    return parse


parse_status = _closed_set(Status)
parse_ticket_type = _closed_set(TicketType)
parse_fault_cause = _closed_set(FaultCause)


def parse_date(value: Any) -> date:
    """An Excel date, or text `22/11/2026` (day-first) or ISO `2026-11-22`; ValueError if not."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        # A bare number may be an unformatted Excel serial; guessing would be wrong as often
        # as right, so the row says what it found instead.
        raise ValueError(str(value))
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text).date()  # also `2026-11-22 08:30` from exports
    except ValueError:
        raise ValueError(text) from None


class _Checker:
    """Collects a row's issues under the column names the sheet itself used."""

    def __init__(self, row_number: int, headers: Mapping[str, str]) -> None:
        self.row_number = row_number
        self.headers = headers
        self.errors: list[RowIssue] = []

    def error(self, column: str, reason: str) -> None:
        self.errors.append(RowIssue(self.row_number, self.headers.get(column, column), reason))

    def choice(self, values: Mapping[str, Any], column: str, parse: Callable[[str], Any],
               noun: str, allowed: str) -> Any:
        text = _text(values.get(column))
        if text is None:
            return None
        parsed = parse(text)
        if parsed is None:
            self.error(column, f"'{text}' is not {noun} ({allowed})")
        return parsed


@functools.cache
def _allowed(kind: type[StrEnum]) -> str:
    return ", ".join(member.value for member in kind)


def validate_row(raw: RawRowLike, headers: Mapping[str, str] | None = None) -> RowResult:
    """Check one row against SPEC 7. `headers` (canonical -> header text) names the columns
    in issues the way the sheet does; every problem of the row is reported, not just the first.
    """
    v = raw.values
    check = _Checker(raw.row_number, headers or {})
    row = ImportRow(raw.row_number)

    ref_text = _text(v.get("ref"))
    if ref_text is not None:
        row.ref = refs.normalise_ref(ref_text)
        if row.ref is None:
            check.error("ref", f"'{ref_text}' is not a ticket ref (like FF000123)")
    ext = _text(v.get("external_ref"))
    row.external_ref = ext.upper() if ext else None
    dr_text = _text(v.get("dr"))
    if dr_text is not None:
        row.dr = refs.normalise_dr(dr_text)
        if row.dr is None:
            check.error("dr", f"'{dr_text}' is not a DR number (DR and 6 to 8 digits)")
    if ref_text is None and ext is None and dr_text is None:
        check.error("dr", "the row has neither a ref nor a DR number")

    for column in _TEXT_COLUMNS:
        setattr(row, column, _text(v.get(column)))
    for column, limit in _LONGEST.items():
        value = getattr(row, column)
        if value is not None and len(value) > limit:
            check.error(column, f"'{value[:20]}…' is {len(value)} characters long; "
                                f"at most {limit} fit")
    row.priority = check.choice(v, "priority", parse_priority, "a priority",
                                _allowed(Priority) + ", medium, P1-P4")
    row.status = check.choice(v, "status", parse_status, "a status", _allowed(Status))
    row.ticket_type = check.choice(v, "type", parse_ticket_type, "a ticket type",
                                   _allowed(TicketType))
    row.fault_cause = check.choice(v, "fault_cause", parse_fault_cause, "a fault cause",
                                   _allowed(FaultCause))
    row.date = _date(v.get("date"), check)

    if check.errors:
        return RowResult(None, check.errors)
    return RowResult(row, [])


def _date(value: Any, check: _Checker) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return parse_date(value)
    except ValueError:
        check.error("date", f"'{value}' is not a date (22/11/2026 or 2026-11-22)")
        return None


def report_uid(dates: Iterable[date], fallback: date) -> str:
    """`WR{iso year}-W{iso week}` of the week most of the rows' dates fall in (a tie goes to
    the later week, so the name does not depend on row order); `fallback` when there are none."""
    weeks = Counter(d.isocalendar()[:2] for d in dates)
    if weeks:
        year, week = max(weeks, key=lambda yw: (weeks[yw], yw))
    else:
        year, week = fallback.isocalendar()[:2]
    return f"WR{year}-W{week:02d}"
