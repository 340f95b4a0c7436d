"""Engines and sessions. Built by bot/bootstrap.py at start-up, never at import time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_engine(url: str, **kw: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kw)
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 10)
    # No pre-ping: it costs a round trip on every checkout. A connection that died with the
    # database fails its first statement, SQLAlchemy then drops the whole pool, and the
    # request gets a 503 that WAHA and Slack retry.
    kw.setdefault("pool_timeout", 5)
    # asyncpg's connect timeout keeps a dead database from hanging requests.
    kw.setdefault("connect_args", {"timeout": 3, "command_timeout": 15})
    return create_async_engine(url, **kw)


def _sqlite_engine(url: str, **kw: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:"):
        kw.setdefault("poolclass", NullPool)
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kw)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would BEGIN lazily (deferred), so two writers
        # could both read and then fail to upgrade their locks; we BEGIN IMMEDIATE ourselves.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
