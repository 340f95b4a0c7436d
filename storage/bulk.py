"""Writing thousands of rows at once: COPY on PostgreSQL, executemany on SQLite.

COPY skips SQLAlchemy's statement machinery but not its types: values go through the column
type's bind processor (UTC datetimes, enum values, JSON), so what lands is what an INSERT would
have written. Only booleans skip it: asyncpg takes a bool as it is, and refuses anything else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, Table, text
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_rows(session: AsyncSession, table: Table, columns: Sequence[str],
                      records: Sequence[Sequence[Any]], *, ids: bool = False) -> list[int]:
    """Insert the records (values in the order of `columns`); with ids=True, return their new
    ids in order. Runs inside the session's transaction."""
    if not records:
        return []
    dialect = session.bind.dialect  # type: ignore[union-attr]
    if dialect.name != "postgresql":
        rows = [dict(zip(columns, record, strict=True)) for record in records]
        if not ids:
            await session.execute(table.insert(), rows)
            return []
        stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        return [r[0] for r in (await session.execute(stmt, rows)).all()]

    new_ids: list[int] = []
    if ids:
        result = await session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                 "FROM generate_series(1, :n)"), {"t": table.name, "n": len(records)})
        new_ids = [r[0] for r in result]
    processed = [(i, processor) for i, c in enumerate(columns)
                 if not isinstance(table.c[c].type, Boolean)
                 and (processor := table.c[c].type._cached_bind_processor(dialect))]
    rows: list[Any] = []
    for record in records:
        row = list(record)
        for i, processor in processed:
            if (value := row[i]) is not None:
                row[i] = processor(value)
        rows.append(row)
    copy_columns = list(columns)
    if ids:
        copy_columns = ["id", *columns]
        rows = [(i, *row) for i, row in zip(new_ids, rows, strict=True)]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, columns=copy_columns, records=rows)
    return new_ids
