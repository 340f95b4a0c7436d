"""Export 100,000 tickets with the CLI, as .xlsx and as .csv, on PostgreSQL: time and peak memory.

    python bench/export_tickets.py [--tickets 100000] [--small 1000] [--postgres URL] [--json]

Each export runs `ticketbot export tickets` in a process of its own, so its peak resident
memory (from wait4) is the export's alone. The same is measured for a small export: memory
that stays flat is the same peak for both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import DEFAULT_POSTGRES, scratch_database  # noqa: E402
from bot.bootstrap import build  # noqa: E402
from bot.config import Settings  # noqa: E402
from domain.enums import Priority  # noqa: E402
from domain.sla import DEFAULT_POLICIES  # noqa: E402
from storage import tables as t  # noqa: E402
from storage.bulk import insert_rows  # noqa: E402
from storage.migrate import migrate  # noqa: E402

_STATUSES = ("open", "assigned", "in_progress", "pending_qa", "closed")
_CAUSES = ("client_damage", "workmanship", "material_failure", None)


def _ticket(n: int, now: datetime) -> dict:
    created = now - timedelta(hours=n % 2000)
    return {
        "ref": f"FF{n:06d}", "title": f"No light on ONT at drop {n}",
        "description": "reported by the client; splitter port checked",
        "ticket_type": "maintenance", "source": "weekly_report", "priority": "normal",
        "status": _STATUSES[n % len(_STATUSES)], "external_ref": f"FT{n:07d}",
        "dr_number": f"DR{1700000 + n % 200000}", "dr_known": True,
        "pole_number": f"LAW.P.A{n % 900}", "pon_number": f"LAW-PON-{n % 64:02d}",
        "zone": f"Z{n % 20:02d}", "address": f"{n % 9000} Kiepersol Street, Lawley",
        "fault_cause": _CAUSES[n % len(_CAUSES)], "created_at": created, "updated_at": created,
        "sla_policy": DEFAULT_POLICIES[Priority.NORMAL].to_dict(), "sla_started_at": created,
        "response_due_at": created + timedelta(hours=8),
        "resolution_due_at": created + timedelta(days=3),
        "qa_ready": False, "rectification_count": 0, "conditional_approval": False,
        "is_infrastructure": False,
    }


async def seed(url: str, count: int) -> None:
    container = build(Settings(database_url=url, media_dir=tempfile.mkdtemp()))
    try:
        await migrate(container.engine)
        now = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
        columns = list(_ticket(1, now))
        async with container.uow() as uow:
            for start in range(1, count + 1, 10_000):
                batch = [_ticket(n, now) for n in range(start, min(start + 10_000, count + 1))]
                await insert_rows(uow.session, t.tickets, columns,
                                  [[row[c] for c in columns] for row in batch])
            await uow.commit()
    finally:
        await container.close()


def export(url: str, fmt: str, out: Path) -> dict:
    """One `ticketbot export tickets` in a child process: seconds and peak RSS."""
    env = {**os.environ, "TICKETBOT_DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _EXPORT, "export", "tickets", "--format", fmt, "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"export failed: {done.stderr[-2000:]}")
    said, peak_kb = done.stdout.strip().rsplit("\n", 1)
    return {"seconds": round(elapsed, 1), "peak_rss_mb": round(int(peak_kb) / 1024, 1),
            "bytes": out.stat().st_size, "said": said}


# The CLI, then its own high-water mark. Not rusage's ru_maxrss: Linux counts in it the
# memory of the process that forked the child (this one, with the seed data) before exec.
_EXPORT = """
import sys
from bot.cli import main
code = main(sys.argv[1:])
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(status["VmHWM"].split()[0])
raise SystemExit(code)
"""


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for count in (args.small, args.tickets):
            async with scratch_database(args.postgres) as url:
                await seed(url, count)
                for fmt in ("csv", "xlsx"):
                    results[f"{fmt} {count}"] = await asyncio.to_thread(
                        export, url, fmt, Path(tmp) / f"tickets-{count}.{fmt}")
    if args.json:
        print(json.dumps(results))
        return
    for name, r in results.items():
        print(f"{name} tickets: {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB, "
              f"{r['bytes'] / 1e6:.1f} MB written ({r['said']})")


if __name__ == "__main__":
    asyncio.run(main())
