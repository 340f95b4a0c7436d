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
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                        if resp.status == 200:
                            return time.perf_counter() - started
                except aiohttp.ClientError:
                    pass
                if time.perf_counter() - started > 60:
                    raise RuntimeError("serve did not become ready within 60 s")
                await asyncio.sleep(0.01)
    finally:
        proc.terminate()
        await proc.wait()


async def pg_run(base_url: str) -> float:
    name = f"tb_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(base_url).set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(base_url).set(database=name).render_as_string(False)
        with tempfile.TemporaryDirectory() as tmp:
            return await one_run(url, Path(tmp))
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
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
