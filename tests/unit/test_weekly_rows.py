"""Checking weekly report rows (SPEC 7): typed values, row errors, the report's name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.enums import FaultCause, Priority, Status, TicketType
from domain.weekly import ImportRow, RowIssue, report_uid, validate_row
from handlers.imports.weekly_reader import read_weekly

W47 = Path(__file__).resolve().parents[3] / "shared" / "data" / "weekly-report-2026-W47.xlsx"


@dataclass
class Raw:
    """A row as any reader could hand it over (domain does not know the xlsx reader)."""

    values: dict[str, Any]
    row_number: int = 7


def check(**values: Any) -> Any:
    return validate_row(Raw({"dr": "DR1234567", **values}))


def valid(**values: Any) -> ImportRow:
    result = check(**values)
    assert result.errors == [] and result.row is not None
    return result.row


def errors(headers: dict[str, str] | None = None, **values: Any) -> list[RowIssue]:
    result = validate_row(Raw(values), headers)
    assert result.row is None and result.errors
    return list(result.errors)


# --- the W47 sample ------------------------------------------------------------------------


def w47() -> tuple[list[ImportRow], list[RowIssue]]:
    sheet = read_weekly(W47)
    good: list[ImportRow] = []
    bad: list[RowIssue] = []
    for raw in sheet.rows:
        result = validate_row(raw, sheet.columns)
        if result.row is not None:
            good.append(result.row)
        bad.extend(result.errors)
    return good, bad


def test_w47_has_96_valid_rows_and_4_errors_at_the_right_cells() -> None:
    good, bad = w47()
    assert len(good) == 96
    assert [(e.row_number, e.column) for e in bad] == [
        (100, "DR Number"), (101, "DR Number"), (102, "Priority"), (103, "Status")]
    reasons = [e.reason for e in bad]
    assert reasons[0] == "the row has neither a ref nor a DR number"
    assert reasons[1].startswith("'DR12' is not a DR number")
    assert reasons[2].startswith("'whenever' is not a priority")
    assert reasons[3].startswith("'Exploded' is not a status")


def test_w47_rows_are_typed_and_normalised() -> None:
    good, _ = w47()
    first = good[0]
    assert first == ImportRow(
        row_number=4, external_ref="FT483332", dr="DR1792858", project="Lawley",
        title="Intermittent connection",
        description="Intermittent connection reported by client", priority=Priority.NORMAL,
        status=Status.PENDING_QA, pole="LAW.P.A199", pon="LAW-PON-44", zone="Z06",
        date=date(2026, 11, 16), contractor="Velocity Build",
    )
    assert {r.priority for r in good} <= set(Priority)  # `P2` and `Medium` made canonical
    assert {r.status for r in good} == {Status.PENDING_QA, Status.OPEN, Status.IN_PROGRESS,
                                        Status.ASSIGNED, Status.CLOSED}


def test_w47_report_uid() -> None:
    good, _ = w47()
    assert report_uid([r.date for r in good if r.date], date(2027, 3, 1)) == "WR2026-W47"


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "status"), [
    ("Pending QA", Status.PENDING_QA), ("pending_qa", Status.PENDING_QA),
    ("In Progress", Status.IN_PROGRESS), ("in-progress", Status.IN_PROGRESS),
    ("QA Approved", Status.QA_APPROVED), ("On Hold", Status.ON_HOLD),
    ("Handed to maintenance", Status.HANDED_TO_MAINTENANCE), ("Closed", Status.CLOSED),
    (" OPEN ", Status.OPEN), ("qa  in progress", Status.QA_IN_PROGRESS),
])
def test_statuses_in_human_form(text: str, status: Status) -> None:
    assert valid(status=text).status is status


@pytest.mark.parametrize(("text", "priority"), [
    ("P1", Priority.CRITICAL), ("p4", Priority.LOW), ("Medium", Priority.NORMAL),
    ("URGENT", Priority.URGENT),
])
def test_priorities_and_their_aliases(text: str, priority: Priority) -> None:
    assert valid(priority=text).priority is priority


def test_types_and_fault_causes() -> None:
    row = valid(type="New Installation", fault_cause="Material failure")
    assert (row.ticket_type, row.fault_cause) == (TicketType.NEW_INSTALLATION,
                                                  FaultCause.MATERIAL_FAILURE)
    assert valid(type="ont-swap", fault_cause="third_party").ticket_type is TicketType.ONT_SWAP


@pytest.mark.parametrize(("value", "day"), [
    (datetime(2026, 11, 22, 14, 5), date(2026, 11, 22)), (date(2026, 11, 22), date(2026, 11, 22)),
    ("22/11/2026", date(2026, 11, 22)), ("2026-11-22", date(2026, 11, 22)),
    ("2026-11-22 08:30", date(2026, 11, 22)), ("3/4/2026", date(2026, 4, 3)),  # day first
    (" 01/12/2026 ", date(2026, 12, 1)), (None, None), ("  ", None),
])
def test_dates(value: Any, day: date | None) -> None:
    assert valid(date=value).date == day


@pytest.mark.parametrize("value", ["31/02/2026", "yesterday", "11/22/2026", 46348, "2026-13-01"])
def test_an_unreadable_date_is_a_row_error(value: Any) -> None:
    [issue] = errors({"date": "Date"}, dr="DR1234567", date=value)
    assert (issue.row_number, issue.column) == (7, "Date")
    assert issue.reason == f"'{value}' is not a date (22/11/2026 or 2026-11-22)"


def test_text_is_stripped_and_empty_text_is_none() -> None:
    row = valid(title="  Fibre cut  ", description="", pole=123.0, pon=" ", zone=7,
                address=None, assigned_to="Thabo ", contractor="\tKasi Splicing\n")
    assert (row.title, row.description, row.pole, row.pon, row.zone, row.address,
            row.assigned_to, row.contractor) == (
        "Fibre cut", None, "123", None, "7", None, "Thabo", "Kasi Splicing")


def test_refs_are_normalised() -> None:
    row = valid(ref="ff-123", external_ref=" ft406824 ", dr="dr 1234567")
    assert (row.ref, row.external_ref, row.dr) == ("FF000123", "FT406824", "DR1234567")


@pytest.mark.parametrize("values", [{"ref": "FF000001"}, {"external_ref": "FT406824"},
                                    {"dr": "DR1234567"}])
def test_one_of_ref_external_ref_or_dr_is_enough(values: dict[str, Any]) -> None:
    assert validate_row(Raw(values)).errors == []


def test_a_row_with_neither_ref_nor_dr_is_an_error() -> None:
    assert errors(title="Fibre cut", ref="  ", dr=None) == [
        RowIssue(7, "dr", "the row has neither a ref nor a DR number")]


# --- row errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("dr", "DR12", "'DR12' is not a DR number (DR and 6 to 8 digits)"),
    ("dr", "1234567", "'1234567' is not a DR number (DR and 6 to 8 digits)"),
    ("ref", "XY123", "'XY123' is not a ticket ref (like FF000123)"),
    ("priority", "whenever", "'whenever' is not a priority (low, normal, high, urgent, "
                             "critical, medium, P1-P4)"),
    ("status", "Exploded", "'Exploded' is not a status (open, assigned, in_progress, "
                           "on_hold, pending_qa, qa_in_progress, qa_rejected, qa_approved, "
                           "pending_handover, handed_to_maintenance, closed, cancelled)"),
    ("type", "repair", "'repair' is not a ticket type (maintenance, new_installation, "
                       "modification, ont_swap, incident)"),
    ("fault_cause", "gremlins", "'gremlins' is not a fault cause (workmanship, "
                                "material_failure, client_damage, third_party, environmental, "
                                "vandalism, unknown)"),
])
def test_values_outside_their_set_are_row_errors(column: str, value: str, reason: str) -> None:
    values = {"external_ref": "FT406824", column: value}
    assert errors(**values) == [RowIssue(7, column, reason)]


def test_every_error_of_a_row_is_reported_under_the_sheets_own_column_names() -> None:
    headers = {"dr": "DR", "priority": "Prio", "status": "Status"}
    found = errors(headers, dr="DR12", priority="whenever", status="Exploded", type="x")
    assert [(e.row_number, e.column) for e in found] == [
        (7, "DR"), (7, "Prio"), (7, "Status"), (7, "type")]


def test_issues_serialise_for_the_report() -> None:
    assert RowIssue(101, "DR Number", "bad").to_json() == {
        "row": 101, "column": "DR Number", "reason": "bad"}


# --- report_uid --------------------------------------------------------------------------


def test_report_uid_takes_the_most_common_iso_week() -> None:
    days = [date(2026, 11, 16), date(2026, 11, 22), date(2026, 11, 23)]
    assert report_uid(days, date(2026, 1, 1)) == "WR2026-W47"


def test_report_uid_uses_the_iso_year_and_pads_the_week() -> None:
    assert report_uid([date(2027, 1, 1)], date(2026, 1, 1)) == "WR2026-W53"
    assert report_uid([date(2025, 12, 29)], date(2026, 1, 1)) == "WR2026-W01"
    assert report_uid([date(2026, 3, 2)], date(2026, 1, 1)) == "WR2026-W10"


def test_report_uid_falls_back_to_the_import_date() -> None:
    assert report_uid([], date(2026, 11, 25)) == "WR2026-W48"


def test_report_uid_breaks_a_tie_by_the_later_week_whatever_the_order() -> None:
    days = [date(2026, 11, 16), date(2026, 11, 23)]
    assert report_uid(days, date(2026, 1, 1)) == "WR2026-W48"
    assert report_uid(reversed(days), date(2026, 1, 1)) == "WR2026-W48"
