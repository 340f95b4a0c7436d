"""`ticketbot serve` as a process: zero-config start on SQLite, and a database that comes late."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp

from tests.conftest import PgDatabases, _pg_admin, require_pg

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cwd: Path, env_extra: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKETBOT_", "SLACK_"))}
    env.update({"PYTHONPATH": str(ROOT), "TICKETBOT_PORT": str(port), **env_extra})
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, port


async def wait_status(port: int, path: str, want: int, within: float = 20) -> float:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
                    if resp.status == want:
                        return time.monotonic()
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never answered {want}")


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


async def test_zero_config_serve_starts_on_sqlite(tmp_path: Path) -> None:
    proc, port = start(tmp_path, {})
    try:
        await wait_status(port, "/readyz", 200)
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
    assert (tmp_path / "ticketbot.db").exists()
    assert "Slack disabled" in out and "WhatsApp disabled" in out
    assert "Traceback" not in out


async def test_a_database_that_answers_late_is_picked_up(tmp_path: Path,
                                                         pg_databases: PgDatabases) -> None:
    require_pg(pg_databases)
    name = f"{pg_databases.prefix}_late_{uuid.uuid4().hex[:6]}"
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_URL

    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    proc, port = start(tmp_path, {"TICKETBOT_DATABASE_URL": url})
    try:
        await wait_status(port, "/healthz", 200)
        await wait_status(port, "/readyz", 503)
        await _pg_admin(f'CREATE DATABASE "{name}"')
        pg_databases.created.append(name)
        await wait_status(port, "/readyz", 200, within=30)
    finally:
        out = stop(proc)
    assert "database not ready" in out
    assert "Traceback" not in out


def test_a_malformed_setting_stops_serve_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOT_")}
    env.update({"PYTHONPATH": str(ROOT), "TICKETBOT_DATABASE_URL": "::nonsense::"})
    result = subprocess.run([sys.executable, "-m", "bot", "serve"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: TICKETBOT_DATABASE_URL:")
    assert len(result.stderr.strip().splitlines()) == 1
