"""The weekly report workbook (SPEC 7): find the header wherever it is, map the columns by
name and alias, hand out the rows lazily. openpyxl read-only, so memory stays flat."""

from __future__ import annotations

import csv
import os
import re
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.exceptions import InvalidFileException

from domain import refs

try:  # a private openpyxl module: only the speed-up needs it, so a rename just costs speed
    from openpyxl.worksheet._reader import INLINE_STRING, WorkSheetParser
except ImportError:  # pragma: no cover - depends on the installed openpyxl
    WorkSheetParser = None  # type: ignore[assignment,misc]

# canonical column -> the names SPEC 7 gives it (compared lower-case, whitespace squeezed)
ALIASES: dict[str, tuple[str, ...]] = {
    "ref": ("ref",),
    "external_ref": ("ft ref", "ticket id"),
    "dr": ("dr number", "dr"),
    "title": ("title", "issue"),
    "description": ("description", "fault description"),
    "type": ("type",),
    "priority": ("priority",),
    "status": ("status",),
    "pole": ("pole",),
    "pon": ("pon",),
    "zone": ("zone",),
    "project": ("area", "project"),
    "address": ("address",),
    "assigned_to": ("assigned to",),
    "contractor": ("contractor",),
    "fault_cause": ("fault cause",),
    "date": ("date",),
}
_LOOKUP = {alias: canon for canon, aliases in ALIASES.items() for alias in aliases}
HEADER_MIN_NAMES = 3
_SUMMARY_RE = re.compile(r"^(grand |sub ?)?totals?\s*:?[\s\d,.]*$")
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_T, _RUN = f"{_MAIN_NS}t", f"{_MAIN_NS}r"

# (Excel row number, {0-based column index: value}) for every row that has a filled cell
Cells = tuple[int, dict[int, Any]]
CellRows = Generator[Cells, None, None]


class WorkbookError(Exception):
    """The file cannot be read as a weekly report; the message says why in one sentence."""


@dataclass(frozen=True)
class RawRow:
    row_number: int  # as Excel shows it
    values: dict[str, Any]  # canonical column -> cell value as read (None when empty)


@dataclass
class WeeklySheet:
    columns: dict[str, str]  # canonical -> header text as found
    header_row: int
    rows: Iterator[RawRow]
    _close: Callable[[], None] = field(default=lambda: None, repr=False)

    def close(self) -> None:
        """Release the file when the rows will not be read to the end (reading them closes it)."""
        self._close()

    def __enter__(self) -> WeeklySheet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _norm(value: Any) -> str:
    return " ".join(str(value).lower().split()) if value is not None else ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_weekly(source: str | os.PathLike[str] | IO[bytes]) -> WeeklySheet:
    """The first sheet of an .xlsx (or a .csv path, which is what CSV exports re-import as):
    header located, columns mapped, rows still unread. Raises WorkbookError."""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise WorkbookError(f"There is no file {path}.")
        if path.lower().endswith(".csv"):
            return _read_csv(path)
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except _BROKEN as exc:
        raise WorkbookError(_not_a_workbook(exc)) from None
    try:
        if not wb.worksheets:
            raise WorkbookError("The workbook has no worksheets.")
        return _locate(_sheet_cells(wb, wb.worksheets[0]), wb.close,
                       "The first sheet of the workbook")
    except _BROKEN as exc:
        wb.close()
        raise WorkbookError(_not_a_workbook(exc)) from None
    except WorkbookError:
        wb.close()
        raise


# What openpyxl and zipfile raise for a file that is not (or no longer) a workbook.
_BROKEN = (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, ParseError,
           TypeError, EOFError)


def _not_a_workbook(exc: BaseException) -> str:
    if isinstance(exc, zipfile.BadZipFile):
        why = "it is not a zip archive, as every .xlsx is"
    elif isinstance(exc, InvalidFileException):
        why = "its file type is not one openpyxl reads; save it from Excel as .xlsx"
    elif isinstance(exc, KeyError):
        why = "the archive holds no workbook"
    elif isinstance(exc, ParseError):
        why = "its XML is damaged"
    else:
        why = f"{type(exc).__name__}: {exc}"
    return f"This file is not an .xlsx workbook ({why})."


def _locate(cells: CellRows, close: Callable[[], None], what: str) -> WeeklySheet:
    """Find the header in the first rows and hand the rest on, unread."""
    seen_any = False
    for number, row in cells:
        seen_any = True
        header = _header(row)
        if header is not None:
            return _sheet(cells, number, *header, close)
    if not seen_any:
        raise WorkbookError(f"{what} is empty.")
    raise WorkbookError(
        f"{what} has no header row: none holds at least {HEADER_MIN_NAMES} known column names "
        "(such as FT Ref, DR Number, Status)."
    )


def _sheet(cells: CellRows, header_row: int, index: dict[int, str],
           texts: dict[str, str], close: Callable[[], None]) -> WeeklySheet:
    rows = _raw_rows(cells, index, close)

    def close_all() -> None:
        rows.close()  # runs its cleanup only if reading started, hence the next two
        cells.close()
        close()

    return WeeklySheet(texts, header_row, rows, close_all)


def _header(row: dict[int, Any]) -> tuple[dict[int, str], dict[str, str]] | None:
    """(column index -> canonical, canonical -> header text) if this row is the header."""
    index: dict[int, str] = {}
    texts: dict[str, str] = {}
    for i in sorted(row):
        canon = _LOOKUP.get(_norm(row[i]))
        if canon is not None and canon not in texts:  # the first column of a name wins
            index[i] = canon
            texts[canon] = " ".join(str(row[i]).split())
    return (index, texts) if len(texts) >= HEADER_MIN_NAMES else None


def _raw_rows(cells: CellRows, index: dict[int, str], close: Callable[[], None]
              ) -> Generator[RawRow, None, None]:
    number = 0
    try:
        for number, row in cells:
            values = {canon: row.get(i) for i, canon in index.items()}
            if all(_blank(v) for v in values.values()) or _is_summary(row, values):
                continue
            yield RawRow(number, values)
    except (zipfile.BadZipFile, ParseError, EOFError, csv.Error, UnicodeDecodeError) as exc:
        # Damage past the header shows only now; the rows already handed out stand.
        raise WorkbookError(
            f"The file is damaged after row {number} ({type(exc).__name__}: {exc})."
        ) from None
    finally:
        cells.close()
        close()


def _is_summary(row: dict[int, Any], values: dict[str, Any]) -> bool:
    """A totals line: its first filled cell says "Total" and nothing in it names a ticket
    (the label often sits in the ref column, and a count in the DR one)."""
    first = next((row[i] for i in sorted(row) if not _blank(row[i])), None)
    if not isinstance(first, str) or not _SUMMARY_RE.match(_norm(first)):
        return False
    text = {k: str(values[k]) for k in ("ref", "external_ref", "dr") if values.get(k) is not None}
    return not (
        ("ref" in text and refs.normalise_ref(text["ref"]))
        or ("external_ref" in text and refs.is_external_ref(text["external_ref"]))
        or ("dr" in text and refs.normalise_dr(text["dr"]))
    )


# --- reading the sheet's cells ----------------------------------------------------------------


def _sheet_cells(wb: Any, ws: Any) -> CellRows:
    fast = _fast_cells(wb, ws)
    return fast if fast is not None else _public_cells(ws)


def _public_cells(ws: Any) -> CellRows:
    """openpyxl's public row iterator. The dimension some writers record is wrong (A1:A1), and
    read-only mode would believe it, so it is dropped first."""
    ws.reset_dimensions()
    for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
        filled = {i: v for i, v in enumerate(row) if v is not None}
        if filled:
            yield number, filled


if WorkSheetParser is not None:

    class _InlineStringParser(WorkSheetParser):  # type: ignore[misc,valid-type]
        """openpyxl's sheet parser, but inline strings (what openpyxl and many generators
        write) are read straight from the XML instead of through its object model, which
        takes half the time of a 10,000-row sheet. Everything else goes to openpyxl."""

        def parse_cell(self, element: Any) -> dict[str, Any]:
            if element.get("t") != "inlineStr" or getattr(self, "rich_text", False):
                return super().parse_cell(element)  # type: ignore[no-any-return]
            coordinate = element.get("r")
            if coordinate:
                row, column = coordinate_to_tuple(coordinate)
                self.col_counter = column
            else:
                self.col_counter += 1
                row, column = self.row_counter, self.col_counter
            value = None
            box = element.find(INLINE_STRING)
            if box is not None:
                # plain text and rich-text runs, as openpyxl's Text.content joins them
                parts = [box.findtext(_T) or ""]
                parts += [run.findtext(_T) or "" for run in box.iterfind(_RUN)]
                value = "".join(parts)
            return {"row": row, "column": column, "value": value, "data_type": "s",
                    "style_id": int(element.get("s", 0))}


def _fast_cells(wb: Any, ws: Any) -> CellRows | None:
    """The faster parser over the sheet's XML; None when this openpyxl lacks what it uses."""
    if WorkSheetParser is None:
        return None
    try:
        src = ws._get_source()
        parser = _InlineStringParser(
            src, ws._shared_strings, data_only=True, epoch=wb.epoch,
            date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats,
        )
    except (AttributeError, TypeError):  # pragma: no cover - depends on the installed openpyxl
        return None
    return _parsed_cells(src, parser.parse())


def _parsed_cells(src: IO[bytes], parsed: Iterable[tuple[int, list[dict[str, Any]]]]
                  ) -> CellRows:
    try:
        for number, cells in parsed:
            filled = {c["column"] - 1: c["value"] for c in cells if c["value"] is not None}
            if filled:
                yield number, filled
    finally:
        src.close()


# --- CSV (exports re-imported) -------------------------------------------------------------------


def _read_csv(path: str) -> WeeklySheet:
    try:
        fh = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - the rows close it
    except OSError as exc:
        raise WorkbookError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        return _locate(_csv_cells(fh), fh.close, "The CSV file")
    except UnicodeDecodeError:
        fh.close()
        raise WorkbookError("This .csv file is not UTF-8 text.") from None
    except csv.Error as exc:
        fh.close()
        raise WorkbookError(f"This .csv file cannot be read ({exc}).") from None
    except WorkbookError:
        fh.close()
        raise


def _csv_cells(fh: IO[str]) -> CellRows:
    for number, row in enumerate(csv.reader(fh), start=1):
        # CSV has no empty cells, only empty text: treat it as Excel's empty.
        filled = {i: v for i, v in enumerate(row) if v != ""}
        if filled:
            yield number, filled
