"""The weekly report workbook (SPEC 7): find the header wherever it is, map the columns by
name and alias, hand out the rows lazily. openpyxl read-only, so memory stays flat."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

# canonical column -> the names people give it (compared lower-case, spaces squeezed)
ALIASES: dict[str, tuple[str, ...]] = {
    "ref": ("ref",),
    "external_ref": ("ft ref", "ticket id", "ft_ref", "ftref", "reference"),
    "dr": ("dr number", "dr", "dr no", "dr_number"),
    "title": ("title", "issue"),
    "description": ("description", "fault description"),
    "type": ("type", "ticket type"),
    "priority": ("priority",),
    "status": ("status",),
    "pole": ("pole", "pole number"),
    "pon": ("pon", "pon number"),
    "zone": ("zone",),
    "project": ("area", "project"),
    "address": ("address",),
    "assigned_to": ("assigned to", "assignee"),
    "contractor": ("contractor", "contractor name"),
    "fault_cause": ("fault cause",),
    "date": ("date", "created date"),
}
_LOOKUP = {alias: canon for canon, aliases in ALIASES.items() for alias in aliases}
_SUMMARY_WORDS = ("total", "totals", "grand total", "sum", "count")


class WorkbookError(Exception):
    """The file cannot be read as a weekly report; the message says why in one sentence."""


@dataclass(frozen=True)
class RawRow:
    row_number: int  # as Excel shows it
    values: dict[str, Any]


@dataclass
class WeeklySheet:
    columns: dict[str, str]  # canonical -> header text as found
    header_row: int
    rows: Iterator[RawRow]


def _norm(value: Any) -> str:
    return " ".join(str(value).strip().lower().split()) if value is not None else ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_weekly(source: str | IO[bytes]) -> WeeklySheet:
    if isinstance(source, str) and source.lower().endswith(".csv"):
        return _read_csv(source)
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise WorkbookError(f"This is not an .xlsx workbook ({type(exc).__name__}).") from None
    if not wb.worksheets:
        wb.close()
        raise WorkbookError("The workbook has no sheets.")
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header: dict[int, str] = {}
    header_text: dict[str, str] = {}
    number = 0
    for number, row in enumerate(rows, start=1):  # noqa: B007
        found = {i: _LOOKUP[_norm(v)] for i, v in enumerate(row) if _norm(v) in _LOOKUP}
        if len(set(found.values())) >= 3:
            seen: set[str] = set()
            for i, canon in found.items():
                if canon not in seen:  # the first column of a name wins
                    header[i] = canon
                    header_text[canon] = str(row[i]).strip()
                    seen.add(canon)
            break
    else:
        wb.close()
        raise WorkbookError("No header row found: it needs at least three known column names "
                            "(e.g. FT Ref, DR Number, Status).")
    return WeeklySheet(header_text, number, _rows(wb, rows, header, number))


def _rows(wb: Any, rows: Iterator[tuple], header: dict[int, str], header_row: int
          ) -> Iterator[RawRow]:
    try:
        for number, row in enumerate(rows, start=header_row + 1):
            values = {canon: row[i] if i < len(row) else None for i, canon in header.items()}
            if all(_blank(v) for v in values.values()):
                continue
            if _is_summary(row, values):
                continue
            yield RawRow(number, {k: (v.strip() if isinstance(v, str) else v)
                                  for k, v in values.items()})
    finally:
        wb.close()


def _is_summary(row: tuple, values: dict[str, Any]) -> bool:
    """A totals line: its first filled cell says "Total" (a ticket row starts with a ref)."""
    first = next((v for v in row if not _blank(v)), None)
    return isinstance(first, str) and _norm(first).rstrip(":") in _SUMMARY_WORDS


def _read_csv(path: str) -> WeeklySheet:
    """Exports may be CSV; the same header rules apply."""
    import csv

    try:
        fh = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed by _csv_rows
    except OSError as exc:
        raise WorkbookError(f"Cannot read {path}: {exc.strerror}.") from None
    reader = csv.reader(fh)
    for number, row in enumerate(reader, start=1):
        found = {i: _LOOKUP[_norm(v)] for i, v in enumerate(row) if _norm(v) in _LOOKUP}
        if len(set(found.values())) >= 3:
            header = {}
            text = {}
            for i, canon in found.items():
                if canon not in text:
                    header[i], text[canon] = canon, row[i].strip()
            return WeeklySheet(text, number, _csv_rows(fh, reader, header, number))
    fh.close()
    raise WorkbookError("No header row found: it needs at least three known column names.")


def _csv_rows(fh: Any, reader: Any, header: dict[int, str], header_row: int
              ) -> Iterator[RawRow]:
    try:
        for number, row in enumerate(reader, start=header_row + 1):
            values = {c: (row[i].strip() or None) if i < len(row) else None
                      for i, c in header.items()}
            if all(_blank(v) for v in values.values()) or _is_summary(tuple(row), values):
                continue
            yield RawRow(number, values)
    finally:
        fh.close()
