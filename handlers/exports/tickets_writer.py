"""Ticket exports as .xlsx (openpyxl write-only, streamed) or .csv, in the import's columns,
so that an export re-imports as a no-op."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Iterable
from datetime import date
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# (header, canonical key) in the order they are written
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Ref", "ref"), ("FT Ref", "external_ref"), ("DR Number", "dr"), ("Title", "title"),
    ("Description", "description"), ("Type", "type"), ("Priority", "priority"),
    ("Status", "status"), ("Pole", "pole"), ("PON", "pon"), ("Zone", "zone"),
    ("Project", "project"), ("Address", "address"), ("Assigned To", "assigned_to"),
    ("Contractor", "contractor"), ("Fault Cause", "fault_cause"), ("Date", "date"),
)


class XlsxStream:
    """Rows appended one by one to a write-only sheet: memory stays flat however many."""

    def __init__(self) -> None:
        self.wb = Workbook(write_only=True)
        self.ws = self.wb.create_sheet("Tickets")
        self.ws.append([h for h, _ in EXPORT_COLUMNS])
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        cells = []
        for _, key in EXPORT_COLUMNS:
            value = row.get(key)
            if isinstance(value, date):
                cell = WriteOnlyCell(self.ws, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            elif isinstance(value, str):
                # Control characters (a pasted WhatsApp message) are illegal in xlsx XML.
                cells.append(ILLEGAL_CHARACTERS_RE.sub("", value))
            else:
                cells.append(value)
        self.ws.append(cells)
        self.count += 1

    def save(self, out: str | IO[bytes]) -> None:
        self.wb.save(out)


def csv_cells(row: dict[str, Any]) -> list[Any]:
    """Dates as ISO text (2026-11-22), which the import reads back."""
    return ["" if row.get(k) is None else
            (row[k].isoformat() if isinstance(row.get(k), date) else row[k])
            for _, k in EXPORT_COLUMNS]


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow([h for h, _ in EXPORT_COLUMNS])
    n = 0
    for row in rows:
        writer.writerow(csv_cells(row))
        n += 1
    return n


async def collect(rows: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row async for row in rows]
