"""Ticket exports as .xlsx (openpyxl write-only, streamed) or .csv, in the import's columns,
so that an export re-imports as a no-op (SPEC 7)."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# (header, canonical key) in the order they are written; the keys are RawRow.values' keys.
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Ref", "ref"), ("FT Ref", "external_ref"), ("DR Number", "dr"), ("Title", "title"),
    ("Description", "description"), ("Type", "type"), ("Priority", "priority"),
    ("Status", "status"), ("Pole", "pole"), ("PON", "pon"), ("Zone", "zone"),
    ("Project", "project"), ("Address", "address"), ("Assigned To", "assigned_to"),
    ("Contractor", "contractor"), ("Fault Cause", "fault_cause"), ("Date", "date"),
)
EXPORT_HEADERS: tuple[str, ...] = tuple(header for header, _ in EXPORT_COLUMNS)
DATE_FORMAT = "yyyy-mm-dd"


def _plain(value: Any) -> Any:
    """Enums as their contract value and datetimes as the day: what the import reads back."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.date()
    return value


class XlsxStream:
    """Rows appended one by one to a write-only sheet: memory stays flat however many."""

    def __init__(self) -> None:
        self.wb = Workbook(write_only=True)
        self.ws = self.wb.create_sheet("Tickets")
        self.ws.append(list(EXPORT_HEADERS))
        self.count = 0

    def add(self, row: Mapping[str, Any]) -> None:
        self.ws.append([self._cell(_plain(row.get(key))) for _, key in EXPORT_COLUMNS])
        self.count += 1

    def _cell(self, value: Any) -> Any:
        if isinstance(value, date):
            cell = WriteOnlyCell(self.ws, value=value)
            cell.number_format = DATE_FORMAT
            return cell
        if isinstance(value, str):
            # Control characters (a pasted WhatsApp message) are illegal in xlsx XML.
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if value.startswith("="):
                # openpyxl would store it as a formula: the text would not come back, and a
                # title could run in the reader's Excel.
                cell = WriteOnlyCell(self.ws, value=value)
                cell.data_type = "s"
                return cell
        return value

    def save(self, out: str | os.PathLike[str] | IO[bytes]) -> None:
        self.wb.save(out)


def write_xlsx(rows: Iterable[Mapping[str, Any]], out: str | os.PathLike[str] | IO[bytes]
               ) -> int:
    """Rows (canonical keys) to an .xlsx with real dates; returns how many were written."""
    stream = XlsxStream()
    for row in rows:
        stream.add(row)
    stream.save(out)
    return stream.count


def csv_cells(row: Mapping[str, Any]) -> list[Any]:
    """One CSV record: empty for None, dates as ISO text (2026-11-22), which the import reads."""
    cells = []
    for _, key in EXPORT_COLUMNS:
        value = _plain(row.get(key))
        cells.append("" if value is None else value.isoformat() if isinstance(value, date)
                     else value)
    return cells


def write_csv(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> int:
    """Rows (canonical keys) as CSV records; `out` should be opened with newline=""."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADERS)
    count = 0
    for row in rows:
        writer.writerow(csv_cells(row))
        count += 1
    return count
