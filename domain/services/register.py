"""The DR register (SPEC 3.3): rows of a sheet into DrRecords, each bad row named."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from domain.model import DrRecord
from domain.refs import normalise_dr

_COLUMNS = {
    "dr number": "dr_number",
    "dr": "dr_number",
    "pole": "pole",
    "pon": "pon",
    "zone": "zone",
    "project": "project",
    "address": "address",
    "installed on": "installed_on",
    "ont serial": "ont_serial",
    "latitude": "latitude",
    "longitude": "longitude",
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a date")


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(str(value).replace(",", "."))


def parse_register_rows(
    rows: Iterable[Mapping[str, Any]],
) -> tuple[list[DrRecord], list[str]]:
    """Rows keyed by lower-case header -> (records, problems). Row numbers count the header."""
    records: dict[str, DrRecord] = {}
    problems: list[str] = []
    for n, raw in enumerate(rows, start=2):
        row = {_COLUMNS[k.strip().lower()]: v for k, v in raw.items()
               if k and k.strip().lower() in _COLUMNS}
        dr = normalise_dr(_text(row.get("dr_number")) or "")
        if dr is None:
            problems.append(f"row {n}: '{row.get('dr_number')}' is not a DR number")
            continue
        try:
            record = DrRecord(
                dr_number=dr,
                pole=_text(row.get("pole")),
                pon=_text(row.get("pon")),
                zone=_text(row.get("zone")),
                project=_text(row.get("project")),
                address=_text(row.get("address")),
                installed_on=_date(row.get("installed_on")),
                ont_serial=(_text(row.get("ont_serial")) or "").upper() or None,
                latitude=_float(row.get("latitude")),
                longitude=_float(row.get("longitude")),
            )
        except ValueError as exc:
            problems.append(f"row {n}: {exc}")
            continue
        records[dr] = record  # a later row for the same DR wins
    return list(records.values()), problems
