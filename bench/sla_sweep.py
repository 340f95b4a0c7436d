"""SLA sweeps over 100,000 open tickets of which 1,000 are due, on PostgreSQL: the first in a
new process, an idle one, and one a day later over another 1,000 due in the warm process.

    python bench/sla_sweep.py [--open 100000] [--due 1000] [--postgres URL] [--json]

The due tickets are critical tickets whose response deadline passed five minutes ago, so the
sweep has real work for each: record the breach, post the SLA-channel card, message the
supervisors. The other tickets are due days from now and must cost nothing: the sweep reads
`tickets.sla_next_check_at <= now` through its index, so its cost grows with the due tickets,
not with the open ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import DEFAULT_POSTGRES, scratch_database  # noqa: E402
from bot.bootstrap import build  # noqa: E402
from bot.config import Settings  # noqa: E402
from domain.enums import Priority  # noqa: E402
from domain.services.people import NewUser, add_user  # noqa: E402
from domain.services.sla_engine import sweep  # noqa: E402
from domain.sla import DEFAULT_POLICIES  # noqa: E402
from storage import tables as t  # noqa: E402
from storage.migrate import migrate  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    async with scratch_database(args.postgres) as url:
        now = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
        later = now + timedelta(days=1)
        clock = [now]
        container = build(Settings(database_url=url, media_dir=tempfile.mkdtemp(),
                                   slack_sla_channel="C0SLA"), clock=lambda: clock[0])
        try:
            await migrate(container.engine)
            async with container.uow() as uow:
                ctx = container.context()
                for i in range(3):
                    await add_user(uow, ctx, NewUser(f"Supervisor {i}", "supervisor",
                                                     f"08255500{i:02d}"))
                await uow.commit()
            policy = DEFAULT_POLICIES[Priority.CRITICAL].to_dict()
            started = now - timedelta(minutes=35)
            rows = []
            for n in range(1, args.open + args.due + 1):
                due = n <= args.due
                # a second group, due a day later, for a sweep in a warm process
                second = n > args.open
                start = (later - timedelta(minutes=35) if second else
                         started if due else now - timedelta(minutes=1))
                rows.append({
                    "ref": f"FF{n:06d}", "title": f"fault {n}", "ticket_type": "maintenance",
                    "source": "api", "priority": "critical", "status": "open",
                    "created_at": start, "updated_at": start, "sla_policy": policy,
                    "sla_started_at": start, "response_due_at": start + timedelta(minutes=30),
                    "resolution_due_at": start + timedelta(hours=6),
                    # due ones now; the rest at their near-breach moment, days away
                    "sla_next_check_at": later - timedelta(minutes=5) if second
                    else now - timedelta(minutes=5) if due else now + timedelta(days=2),
                    "dr_known": False, "qa_ready": False, "rectification_count": 0,
                    "conditional_approval": False, "is_infrastructure": False,
                })
            async with container.engine.begin() as c:
                for i in range(0, len(rows), 5000):
                    await c.execute(insert(t.tickets), rows[i:i + 5000])
                await c.execute(text("ANALYZE tickets"))
            t0 = time.perf_counter()
            report = await sweep(container.uow, container.context())
            elapsed = time.perf_counter() - t0
            t1 = time.perf_counter()
            again = await sweep(container.uow, container.context())
            idle = time.perf_counter() - t1
            # The first group is dealt with (closed); a day later the second group is due,
            # and the process has compiled its statements: the sweep a running serve does.
            async with container.engine.begin() as c:
                await c.execute(text("UPDATE tickets SET status = 'closed', "
                                     "sla_next_check_at = NULL WHERE id <= :n"), {"n": args.due})
            clock[0] = later
            t2 = time.perf_counter()
            warm = await sweep(container.uow, container.context())
            warm_s = time.perf_counter() - t2
        finally:
            await container.close()
    result = {"open": args.open, "due": args.due, "looked_at": report.looked_at,
              "announced": len(report.announcements), "sweep_s": round(elapsed, 3),
              "idle_sweep_s": round(idle, 4), "idle_looked_at": again.looked_at,
              "warm_sweep_s": round(warm_s, 3), "warm_looked_at": warm.looked_at,
              "warm_announced": len(warm.announcements)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"sweep over {args.open} open tickets, {args.due} due: {elapsed:.3f} s "
              f"({len(report.announcements)} announcements), the first in a new process; "
              f"the next sweep, with nothing due: {idle * 1000:.1f} ms")
        print(f"a day later, another {warm.looked_at} due, the process warm: {warm_s:.3f} s "
              f"({len(warm.announcements)} announcements)")


if __name__ == "__main__":
    asyncio.run(main())
