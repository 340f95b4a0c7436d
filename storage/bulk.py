"""Writing thousands of rows at once: COPY on PostgreSQL, executemany on SQLite.

COPY skips SQLAlchemy's statement machinery but not its types: every value still goes through
the column type's bind processor (UTC datetimes, enum values, JSON), so what lands is what an
INSERT would have written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                      *, ids: bool = False) -> list[int]:
    """Insert the rows (all with the same keys); with ids=True, return their new ids in
    order. Runs inside the session's transaction."""
    if not rows:
        return []
    dialect = session.bind.dialect  # type: ignore[union-attr]
    if dialect.name != "postgresql":
        if not ids:
            await session.execute(table.insert(), list(rows))
            return []
        stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        return [r[0] for r in (await session.execute(stmt, list(rows))).all()]

    new_ids: list[int] = []
    if ids:
        result = await session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                 "FROM generate_series(1, :n)"), {"t": table.name, "n": len(rows)})
        new_ids = [r[0] for r in result]
    columns = list(rows[0])
    processors = [table.c[c].type._cached_bind_processor(dialect) for c in columns]
    records = [tuple(p(row[c]) if p else row[c] for c, p in zip(columns, processors,
                                                                   strict=True))
               for row in rows]
    if ids:
        columns = ["id", *columns]
        records = [(i, *rec) for i, rec in zip(new_ids, records, strict=True)]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, columns=columns, records=records)
    return new_ids
