"""Time from launching `ticketbot serve` to `/readyz` answering 200, on SQLite and PostgreSQL.

    python bench/serve_start.py [--runs 5] [--postgres URL] [--json]

Each run starts from an empty database (a fresh SQLite file, a fresh PostgreSQL database), so
the figure includes applying every migration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import DEFAULT_POSTGRES, free_port, scratch_database, wait_ready  # noqa: E402


async def one_run(database_url: str, workdir: Path) -> float:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOT_")}
    env.update({"PYTHONPATH": str(ROOT), "TICKETBOT_PORT": str(port),
                "TICKETBOT_DATABASE_URL": database_url})
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", cwd=workdir, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        return await wait_ready(port) - started
    finally:
        proc.terminate()
        await proc.wait()


async def pg_run(base_url: str) -> float:
    async with scratch_database(base_url) as url:
        with tempfile.TemporaryDirectory() as tmp:
            return await one_run(url, Path(tmp))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            results["sqlite"].append(await one_run("sqlite+aiosqlite:///ticketbot.db", Path(tmp)))
        results["postgresql"].append(await pg_run(args.postgres))
    summary = {
        db: {"median_s": round(statistics.median(v), 3), "max_s": round(max(v), 3),
             "runs": len(v)}
        for db, v in results.items()
    }
    if args.json:
        print(json.dumps(summary))
    else:
        for db, s in summary.items():
            print(f"serve -> /readyz 200 on {db}: median {s['median_s']} s, "
                  f"max {s['max_s']} s over {s['runs']} runs")


if __name__ == "__main__":
    asyncio.run(main())
