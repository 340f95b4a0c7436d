"""Shared fixtures: throwaway databases on SQLite and PostgreSQL, a controllable clock."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.bootstrap import Container, build
from bot.config import Settings
from storage.db import create_engine
from storage.migrate import migrate

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PG_URL = os.environ.get("TICKETBOT_TEST_POSTGRES_URL", DEFAULT_PG)
REQUIRE_PG = os.environ.get("TICKETBOT_REQUIRE_POSTGRES") == "1"


class Clock:
    """A clock the test moves by hand; services read it through the container."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def _dsn(url: str, database: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if database:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_dsn(PG_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class PgDatabases:
    """One migrated template per test run; every test gets a fresh copy of it."""

    def __init__(self) -> None:
        self.prefix = f"tb_test_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_tmpl"
        self.created: list[str] = []
        self.error: str | None = None

    async def setup(self) -> None:
        try:
            await _pg_admin(f'CREATE DATABASE "{self.template}"')
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            self.error = f"PostgreSQL at {PG_URL} is not reachable: {exc!r}"
            return
        self.created.append(self.template)
        engine = create_engine(make_url(PG_URL).set(database=self.template).render_as_string(
            hide_password=False))
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    async def fresh(self) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    async def drop(self, url: str) -> None:
        name = make_url(url).database
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    async def teardown(self) -> None:
        for name in reversed(self.created):
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    dbs = PgDatabases()
    asyncio.run(dbs.setup())
    yield dbs
    if dbs.error is None:
        asyncio.run(dbs.teardown())


def require_pg(dbs: PgDatabases) -> None:
    if dbs.error:
        if REQUIRE_PG:
            pytest.fail(f"TICKETBOT_REQUIRE_POSTGRES=1 but {dbs.error}")
        pytest.skip(f"LOUD SKIP: {dbs.error} (set TICKETBOT_TEST_POSTGRES_URL)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"

    async def make() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(make())
    return path


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    pg_databases: PgDatabases,
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "ticketbot.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    require_pg(pg_databases)
    url = await pg_databases.fresh()
    yield url
    await pg_databases.drop(url)


@pytest.fixture
async def postgres_url(pg_databases: PgDatabases) -> AsyncIterator[str]:
    require_pg(pg_databases)
    url = await pg_databases.fresh()
    yield url
    await pg_databases.drop(url)


@pytest.fixture
def clock() -> Clock:
    # A Tuesday morning in Johannesburg (08:00 UTC = 10:00 SAST), clear of holidays.
    return Clock(datetime(2026, 11, 17, 8, 0, tzinfo=UTC))


def make_settings(database_url: str, tmp_path: Path, **kw: object) -> Settings:
    return Settings(database_url=database_url, media_dir=str(tmp_path / "media"), **kw)


@pytest.fixture
async def container(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Container]:
    c = build(make_settings(database_url, tmp_path), clock=clock)
    yield c
    await c.close()


@pytest.fixture
async def people(container: Container):
    from tests.seed import seed_people

    return await seed_people(container)
