"""The weekly workbook read by a child process hands over exactly what reading in-process does,
and says where a workbook broke."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from handlers.imports.reader_process import rows_in_child
from handlers.imports.weekly_reader import RawRow, WorkbookError, read_weekly

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
W47 = DATA / "weekly-report-2026-W47.xlsx"
LARGE = DATA / "weekly-report-large-10k.xlsx"


async def _collect(source: str | bytes) -> list[RawRow]:
    return [row async for row in rows_in_child(source)]


@pytest.mark.parametrize("as_bytes", [False, True], ids=["path", "bytes"])
async def test_the_child_reads_what_read_weekly_reads(as_bytes: bool) -> None:
    expected = list(read_weekly(W47).rows)
    got = await _collect(W47.read_bytes() if as_bytes else str(W47))
    assert got == expected
    assert len(got) == 100


async def test_the_child_hands_over_every_row_of_a_large_sheet_in_order() -> None:
    rows = await _collect(str(LARGE))
    assert len(rows) == 10_004
    numbers = [r.row_number for r in rows]
    assert numbers == sorted(numbers)


def _damaged_copy(tmp_path: Path) -> Path:
    """LARGE with its sheet's XML cut off in the middle: the header reads, later rows do not."""
    out = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(LARGE) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            dst.writestr(item, data)
    return out


async def test_damage_part_way_reaches_the_import_as_the_same_error(tmp_path: Path) -> None:
    damaged = _damaged_copy(tmp_path)
    with pytest.raises(WorkbookError) as in_process:
        list(read_weekly(damaged).rows)
    received: list[RawRow] = []
    with pytest.raises(WorkbookError) as in_child:
        async for row in rows_in_child(str(damaged)):
            received.append(row)
    assert str(in_child.value) == str(in_process.value)
    assert "damaged after row" in str(in_child.value)
    assert 1_000 < len(received) < 10_004  # the rows before the damage were handed over


async def test_a_file_that_is_not_a_workbook_is_an_error_not_a_hang(tmp_path: Path) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(WorkbookError):
        await _collect(str(junk))
