"""Import the 10,000-row weekly workbook on SQLite and on PostgreSQL.

    python bench/import_weekly.py [--file ../shared/data/weekly-report-large-10k.xlsx]
                                  [--postgres URL] [--json]

Each run starts from an empty database with the people and the DR register loaded, and goes
through the same services as chat: refs, register enrichment, SLA clocks, repeat-fault checks,
audit events. Prints rows per second per engine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from bench.common import DEFAULT_POSTGRES, scratch_database  # noqa: E402
from bot.bootstrap import build  # noqa: E402
from bot.config import Settings  # noqa: E402
from domain.context import Actor  # noqa: E402
from domain.enums import Channel  # noqa: E402
from domain.services.imports import import_weekly  # noqa: E402
from domain.services.people import register_projects  # noqa: E402
from domain.services.register import parse_register_rows  # noqa: E402
from handlers.imports.reader_process import rows_in_child  # noqa: E402
from handlers.imports.weekly_reader import read_weekly  # noqa: E402
from storage.migrate import migrate  # noqa: E402
from tests.seed import seed_people  # noqa: E402


def register_rows() -> list[dict]:
    from openpyxl import load_workbook

    wb = load_workbook(SHARED / "data" / "dr-register.xlsx", read_only=True)
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = [str(h).lower() for h in next(rows)]
    out = [dict(zip(header, r, strict=False)) for r in rows]
    wb.close()
    return out


async def one(url: str, path: Path) -> dict:
    container = build(Settings(database_url=url, media_dir=tempfile.mkdtemp()))
    try:
        await migrate(container.engine)
        await seed_people(container)
        records, _ = parse_register_rows(register_rows())
        async with container.uow() as uow:  # as `ticketbot drs import` loads it
            await uow.drs.upsert_many(records)
            await register_projects(uow, (r.project for r in records))
            await uow.commit()
        sheet = read_weekly(str(path))
        sheet.close()
        started, cpu = time.perf_counter(), time.process_time()
        summary = await import_weekly(container.uow, container.context(),
                                      Actor(None, Channel.IMPORT), rows_in_child(str(path)),
                                      sheet.columns,
                                      filename=path.name)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        await container.close()
    return {"rows": summary.total, "created": summary.created, "errors": len(summary.errors),
            "seconds": round(elapsed, 2), "rows_per_s": round(summary.total / elapsed),
            "our_cpu_seconds": round(cpu, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", default=str(SHARED / "data" / "weekly-report-large-10k.xlsx"))
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            results["sqlite"] = await one(f"sqlite+aiosqlite:///{tmp}/bench.db", Path(args.file))
    if args.only != "sqlite":
        async with scratch_database(args.postgres) as url:
            results["postgresql"] = await one(url, Path(args.file))
    if args.json:
        print(json.dumps(results))
    else:
        for db, r in results.items():
            print(f"{db}: {r['rows']} rows in {r['seconds']} s = {r['rows_per_s']} rows/s "
                  f"({r['created']} created, {r['errors']} row errors; {r['our_cpu_seconds']} s of "
                  f"our CPU)")


if __name__ == "__main__":
    asyncio.run(main())
