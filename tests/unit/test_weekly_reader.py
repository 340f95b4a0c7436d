"""Reading weekly report workbooks (SPEC 7): header anywhere, aliases, skipped rows, bad files."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from handlers.imports import weekly_reader
from handlers.imports.weekly_reader import RawRow, WorkbookError, read_weekly

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
W47 = DATA / "weekly-report-2026-W47.xlsx"
LARGE = DATA / "weekly-report-large-10k.xlsx"


def make_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def read_all(source: Any) -> tuple[weekly_reader.WeeklySheet, list[RawRow]]:
    sheet = read_weekly(source)
    return sheet, list(sheet.rows)


# --- the W47 sample ------------------------------------------------------------------------


def test_w47_header_is_found_below_the_title_and_blank_rows() -> None:
    sheet, rows = read_all(W47)
    assert sheet.header_row == 3
    assert sheet.columns == {
        "external_ref": "FT Ref", "dr": "DR Number", "project": "Area", "title": "Issue",
        "description": "Description", "priority": "Priority", "status": "Status",
        "pole": "Pole", "pon": "PON", "zone": "Zone", "fault_cause": "Fault Cause",
        "date": "Date", "contractor": "Contractor",
    }
    assert rows[0] == RawRow(4, {
        "external_ref": "FT483332", "dr": "DR1792858", "project": "Lawley",
        "title": "Intermittent connection",
        "description": "Intermittent connection reported by client", "priority": "normal",
        "status": "Pending QA", "pole": "LAW.P.A199", "pon": "LAW-PON-44", "zone": "Z06",
        "fault_cause": None, "date": datetime(2026, 11, 16), "contractor": "Velocity Build",
    })


def test_w47_rows_are_every_data_row_and_not_the_blank_or_totals_rows() -> None:
    _, rows = read_all(W47)
    # 96 good rows and 4 bad ones on rows 4-103; 104 is blank and 105 says "Total".
    assert [r.row_number for r in rows] == list(range(4, 104))
    assert rows[-1].values["status"] == "Exploded"


def test_rows_are_lazy() -> None:
    sheet = read_weekly(W47)
    assert iter(sheet.rows) is sheet.rows
    assert next(sheet.rows).row_number == 4
    sheet.close()
    assert next(sheet.rows, None) is None


def test_the_10k_sample_reads_every_row() -> None:
    # (its speed is measured by bench/import_weekly.py, not here)
    sheet = read_weekly(LARGE)
    assert sum(1 for _ in sheet.rows) == 10_004  # 10,000 good rows and W47's 4 bad ones


# --- header and rows in workbooks made here ------------------------------------------------


def test_header_names_match_case_and_whitespace_insensitively(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "w.xlsx", [
        ["Weekly report"],
        ["Prepared by", "Status", "Date"],  # two known names: a note, not the header
        [],
        [None, "  ticket   ID ", "dr", "ISSUE", "Fault  description", "project", "Notes",
         "ASSIGNED TO", "type", "Ref", "Address", "DR Number"],
        [None, "FT1", "DR1234567", "t", "d", "Lawley", "ignored", "Thabo", "maintenance",
         "FF000001", "1 Main Rd", "DR7654321"],
    ])
    sheet, rows = read_all(path)
    assert sheet.header_row == 4
    assert sheet.columns == {
        "external_ref": "ticket ID", "dr": "dr", "title": "ISSUE",
        "description": "Fault description", "project": "project", "assigned_to": "ASSIGNED TO",
        "type": "type", "ref": "Ref", "address": "Address",
    }
    # Unknown columns are left out; of two columns with one meaning the first wins.
    assert rows == [RawRow(5, {
        "external_ref": "FT1", "dr": "DR1234567", "title": "t", "description": "d",
        "project": "Lawley", "assigned_to": "Thabo", "type": "maintenance", "ref": "FF000001",
        "address": "1 Main Rd",
    })]


@pytest.mark.parametrize("label", ["Total", "TOTALS", "Grand total", "Totals:", "Subtotal",
                                   "Total 12"])
def test_summary_rows_are_skipped(tmp_path: Path, label: str) -> None:
    path = make_xlsx(tmp_path / "w.xlsx", [
        ["FT Ref", "DR Number", "Status"],
        ["FT100001", "DR1234567", "open"],
        [label, 1, None],
        [None, label, "1"],
    ])
    _, rows = read_all(path)
    assert [r.row_number for r in rows] == [2]


def test_a_row_that_says_total_but_names_a_ticket_is_kept(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "w.xlsx", [
        ["Title", "DR Number", "Status"],
        ["Total loss of signal", "DR1234567", "open"],
        ["Total", "DR7654321", "open"],
        ["Total", None, "open"],
    ])
    _, rows = read_all(path)
    assert [r.row_number for r in rows] == [2, 3]


def test_empty_rows_and_rows_with_only_unknown_columns_are_skipped(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "w.xlsx", [
        ["FT Ref", "DR Number", "Status", "Notes"],
        [None, None, None, "a note"],
        ["", "   ", None, None],
        [],
        ["FT100001", None, None, None],
    ])
    _, rows = read_all(path)
    assert [r.row_number for r in rows] == [5]


def test_a_wrong_dimension_in_the_file_does_not_hide_rows(tmp_path: Path) -> None:
    # Some generators record A1:A1 whatever the size; read-only openpyxl would believe it.
    path = make_xlsx(tmp_path / "w.xlsx", [["FT Ref", "DR Number", "Status"]]
                     + [[f"FT{i}", f"DR{1000000 + i}", "open"] for i in range(1, 6)])
    fixed = tmp_path / "dim.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(fixed, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:A1"', data)
            dst.writestr(item, data)
    for cells in (weekly_reader._fast_cells, None):
        wb = openpyxl.load_workbook(fixed, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        got = list(cells(wb, ws) if cells else weekly_reader._public_cells(ws))
        wb.close()
        assert [n for n, _ in got] == [1, 2, 3, 4, 5, 6]


def test_reads_from_a_file_object_and_a_path_alike(tmp_path: Path) -> None:
    from_path = read_all(W47)[1]
    from_bytes = read_all(io.BytesIO(W47.read_bytes()))[1]
    assert from_bytes == from_path


# --- the fast cell parser against openpyxl's own ----------------------------------------------


def _with_shared_strings(path: Path, out: Path) -> Path:
    """The same workbook with its text in a shared-string table, as Excel itself writes it."""
    strings: list[str] = []

    def share(match: re.Match[bytes]) -> bytes:
        strings.append(match.group(2).decode())
        return match.group(1) + b' t="s"><v>' + str(len(strings) - 1).encode() + b"</v></c>"

    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'(<c r="[A-Z]+\d+"(?: s="\d+")?) t="inlineStr"><is><t>(.*?)'
                              rb"</t></is></c>", share, data)
            elif item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", (
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                    b"</Types>"))
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", (
                    b'<Relationship Id="rIdS" Target="sharedStrings.xml" Type="http://schemas.'
                    b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
                    b"</Relationships>"))
            dst.writestr(item, data)
        table = "".join(f"<si><t>{s}</t></si>" for s in strings)
        dst.writestr("xl/sharedStrings.xml", (
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{len(strings)}" uniqueCount="{len(strings)}">{table}</sst>'))
    assert strings, "the rewrite found no inline strings"
    return out


def _both_ways(path: Path) -> tuple[list[Any], list[Any]]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    fast_iter = weekly_reader._fast_cells(wb, wb.worksheets[0])
    assert fast_iter is not None
    fast = list(fast_iter)
    wb.close()
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    public = list(weekly_reader._public_cells(wb.worksheets[0]))
    wb.close()
    return fast, public


@pytest.mark.parametrize("shared", [False, True])
def test_fast_cells_equal_openpyxls_own_reading(tmp_path: Path, shared: bool) -> None:
    path = make_xlsx(tmp_path / "w.xlsx", [
        ["Title"], [],
        ["FT Ref", "DR Number", "Date", "Count", "Flag", "Ratio", "Text"],
        ["FT1", "DR1234567", datetime(2026, 11, 22, 8, 30), 12, True, 0.5, "x < y & z"],
        [None, None, None, None, None, None, ""],
        ["FT2", None, datetime(2026, 11, 23), None, False, -1.25, "  spaced  "],
    ])
    if shared:
        path = _with_shared_strings(path, tmp_path / "shared.xlsx")
    fast, public = _both_ways(path)
    assert fast == public
    assert fast[2] == (4, {0: "FT1", 1: "DR1234567", 2: datetime(2026, 11, 22, 8, 30), 3: 12,
                           4: True, 5: 0.5, 6: "x < y & z"})


def test_fast_cells_equal_openpyxls_own_reading_on_the_sample() -> None:
    fast, public = _both_ways(W47)
    assert fast == public and len(fast) == 103  # 105 rows less the empty 2 and 104


# --- files that are not weekly reports --------------------------------------------------------


def _not_a_workbook(tmp_path: Path, kind: str) -> Any:
    if kind == "text file":
        path = tmp_path / "notes.txt"
        path.write_text("FT Ref,DR Number,Status\n")
        return path
    if kind == "text named .xlsx":
        path = tmp_path / "report.xlsx"
        path.write_text("hello")
        return path
    if kind == "random bytes":
        return io.BytesIO(bytes(range(256)) * 8)
    if kind == "zip without a workbook":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("hello.txt", "hello")
        buffer.seek(0)
        return buffer
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["text file", "text named .xlsx", "random bytes",
                                  "zip without a workbook"])
def test_a_file_that_is_not_a_workbook_gets_one_clear_error(tmp_path: Path, kind: str) -> None:
    with pytest.raises(WorkbookError) as caught:
        read_weekly(_not_a_workbook(tmp_path, kind))
    message = str(caught.value)
    assert message.startswith("This file is not an .xlsx workbook (")
    assert message.endswith(").") and "\n" not in message


def test_an_empty_workbook_gets_one_clear_error(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "empty.xlsx", [])
    with pytest.raises(WorkbookError, match=r"^The first sheet of the workbook is empty\.$"):
        read_weekly(path)


def test_a_sheet_without_a_header_row_gets_one_clear_error(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "w.xlsx", [["Name", "Phone"], ["Thabo", "082 123 4567"],
                                          ["Status", "Date"]])
    with pytest.raises(WorkbookError, match="has no header row: none holds at least 3 known"):
        read_weekly(path)


def test_a_missing_file_gets_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match=r"^There is no file .*nothing\.xlsx\.$"):
        read_weekly(tmp_path / "nothing.xlsx")


# --- CSV, which is what a CSV export re-imports as ----------------------------------------


def test_a_csv_path_is_read_with_the_same_rules(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("Exported tickets\n\nRef,FT Ref,DR Number,Status,Extra\n"
                    "FF000001,,DR1234567,open,x\n,,,,\nTotal,2,,,\n"
                    'FF000002,FT1,,"on hold",\n', encoding="utf-8")
    sheet, rows = read_all(path)
    assert sheet.header_row == 3
    assert rows == [
        RawRow(4, {"ref": "FF000001", "external_ref": None, "dr": "DR1234567",
                   "status": "open"}),
        RawRow(7, {"ref": "FF000002", "external_ref": "FT1", "dr": None, "status": "on hold"}),
    ]


def test_a_csv_without_a_header_gets_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(WorkbookError, match=r"^The CSV file has no header row"):
        read_weekly(path)
