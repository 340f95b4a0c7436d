"""Ticket exports (SPEC 7): the import's columns plus Ref, real dates, streamed, and an export
reads back through the import into the same rows."""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from domain.enums import FaultCause, Priority, Status, TicketType
from domain.weekly import ImportRow, validate_row
from handlers.exports.tickets_writer import (
    EXPORT_COLUMNS,
    EXPORT_HEADERS,
    csv_cells,
    write_csv,
    write_xlsx,
)
from handlers.imports.weekly_reader import read_weekly

W47 = Path(__file__).resolve().parents[3] / "shared" / "data" / "weekly-report-2026-W47.xlsx"
FULL = {
    "ref": "FF000042", "external_ref": "FT406824", "dr": "DR1234567",
    "title": "=1+1 is not a formula", "description": "Fibre cut, \"quoted\", two\nlines",
    "type": TicketType.ONT_SWAP, "priority": Priority.URGENT, "status": Status.ON_HOLD,
    "pole": "LAW.P.A199", "pon": "LAW-PON-44", "zone": "Z06", "project": "Lawley",
    "address": "12 Main Rd, Lawley", "assigned_to": "Thabo Mokoena",
    "contractor": "Velocity Build", "fault_cause": FaultCause.WORKMANSHIP,
    "date": date(2026, 11, 22),
}


def export_row(row: ImportRow) -> dict[str, Any]:
    """What domain.services.exports hands the writer, from a checked import row."""
    return {"ref": row.ref, "external_ref": row.external_ref, "dr": row.dr, "title": row.title,
            "description": row.description, "type": row.ticket_type, "priority": row.priority,
            "status": row.status, "pole": row.pole, "pon": row.pon, "zone": row.zone,
            "project": row.project, "address": row.address, "assigned_to": row.assigned_to,
            "contractor": row.contractor, "fault_cause": row.fault_cause, "date": row.date}


def read_back(source: Any) -> list[ImportRow]:
    sheet = read_weekly(source)
    rows = []
    for raw in sheet.rows:
        result = validate_row(raw, sheet.columns)
        assert result.errors == [], result.errors
        assert result.row is not None
        rows.append(replace(result.row, row_number=0))
    return rows


def w47_rows() -> list[ImportRow]:
    sheet = read_weekly(W47)
    rows = [validate_row(raw, sheet.columns).row for raw in sheet.rows]
    # Give them refs, as tickets exported from the database have.
    return [replace(row, row_number=0, ref=f"FF{n:06d}")
            for n, row in enumerate((r for r in rows if r is not None), start=1)]


def write(fmt: str, rows: Any, tmp_path: Path) -> tuple[int, Path]:
    path = tmp_path / f"tickets.{fmt}"
    if fmt == "xlsx":
        return write_xlsx(rows, path), path
    with path.open("w", newline="", encoding="utf-8") as fh:
        return write_csv(rows, fh), path


def test_the_columns_are_the_imports_names_plus_ref() -> None:
    assert EXPORT_HEADERS == ("Ref", "FT Ref", "DR Number", "Title", "Description", "Type",
                              "Priority", "Status", "Pole", "PON", "Zone", "Project",
                              "Address", "Assigned To", "Contractor", "Fault Cause", "Date")
    assert [key for _, key in EXPORT_COLUMNS] == list(FULL)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_w47_sample_exported_reads_back_as_the_same_rows(tmp_path: Path, fmt: str) -> None:
    original = w47_rows()
    count, path = write(fmt, (export_row(r) for r in original), tmp_path)
    assert count == 96
    assert read_back(path) == original


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_every_column_and_empty_cells_survive_the_round_trip(tmp_path: Path, fmt: str) -> None:
    sparse = {"dr": "DR7654321", "status": "open", "date": datetime(2026, 11, 23, 17, 45)}
    count, path = write(fmt, [FULL, sparse], tmp_path)
    assert count == 2
    assert read_back(path) == [
        ImportRow(0, ref="FF000042", external_ref="FT406824", dr="DR1234567",
                  title="=1+1 is not a formula", description="Fibre cut, \"quoted\", two\nlines",
                  ticket_type=TicketType.ONT_SWAP, priority=Priority.URGENT,
                  status=Status.ON_HOLD, pole="LAW.P.A199", pon="LAW-PON-44", zone="Z06",
                  project="Lawley", address="12 Main Rd, Lawley", assigned_to="Thabo Mokoena",
                  contractor="Velocity Build", fault_cause=FaultCause.WORKMANSHIP,
                  date=date(2026, 11, 22)),
        ImportRow(0, dr="DR7654321", status=Status.OPEN, date=date(2026, 11, 23)),
    ]


def test_xlsx_dates_are_real_dates_and_text_stays_text(tmp_path: Path) -> None:
    _, path = write("xlsx", [FULL], tmp_path)
    wb = openpyxl.load_workbook(path)  # full mode: number formats and data types visible
    ws = wb.active
    assert [c.value for c in ws[1]] == list(EXPORT_HEADERS)
    day = ws.cell(row=2, column=len(EXPORT_HEADERS))
    assert day.is_date and day.number_format == "yyyy-mm-dd"
    assert day.value == datetime(2026, 11, 22)
    title = ws.cell(row=2, column=EXPORT_HEADERS.index("Title") + 1)
    assert (title.data_type, title.value) == ("s", "=1+1 is not a formula")
    assert ws.cell(row=2, column=EXPORT_HEADERS.index("Status") + 1).value == "on_hold"
    wb.close()


def test_xlsx_drops_control_characters_that_xml_cannot_hold(tmp_path: Path) -> None:
    _, path = write("xlsx", [{**FULL, "title": "bell\x07 and\x1b escape"}], tmp_path)
    assert read_back(path)[0].title == "bell and escape"


def test_csv_writes_iso_dates_and_empty_cells_for_none() -> None:
    out = io.StringIO(newline="")
    assert write_csv([{"dr": "DR7654321", "date": datetime(2026, 11, 22, 9, 0),
                       "status": Status.CLOSED}], out) == 1
    header, record = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == list(EXPORT_HEADERS)
    assert dict(zip(header, record, strict=True)) == {
        h: "" for h in EXPORT_HEADERS} | {"DR Number": "DR7654321", "Status": "closed",
                                          "Date": "2026-11-22"}
    assert csv_cells({}) == [""] * len(EXPORT_HEADERS)


def test_empty_exports_still_have_the_header(tmp_path: Path) -> None:
    assert write_xlsx([], tmp_path / "none.xlsx") == 0
    wb = openpyxl.load_workbook(tmp_path / "none.xlsx", read_only=True)
    assert list(wb.active.iter_rows(values_only=True)) == [EXPORT_HEADERS]
    wb.close()


def _rows(n: int) -> Iterator[dict[str, Any]]:
    for i in range(1, n + 1):
        yield {"ref": f"FF{i:06d}", "dr": f"DR{1_000_000 + i}", "status": "open",
               "date": date(2026, 11, 22)}


def _peak(n: int, out: Path) -> int:
    tracemalloc.start()
    try:
        assert write_xlsx(_rows(n), out) == n
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_xlsx_memory_does_not_grow_with_the_row_count(tmp_path: Path) -> None:
    small = _peak(100, tmp_path / "small.xlsx")
    large = _peak(2_000, tmp_path / "large.xlsx")
    # Held in memory, 1,900 more rows of these cells would add about 2 MB.
    assert large - small < 300_000, (small, large)
