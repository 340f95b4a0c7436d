"""Claiming rows as leases, for workers of which several processes may run (outbox, inbox)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table, update
from sqlalchemy.ext.asyncio import AsyncSession


async def lease(s: AsyncSession, table: Table, due: Select[Any], **values: Any
                ) -> list[dict[str, Any]]:
    """Take the rows whose ids `due` selects (locked, skipping rows another process holds, on
    PostgreSQL), set `values` on them and commit; the rows as they are now, oldest first."""
    if s.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        due = due.with_for_update(skip_locked=True)
    ids = [row[0] for row in (await s.execute(due)).all()]
    if not ids:
        await s.commit()
        return []
    rows = (await s.execute(update(table).where(table.c.id.in_(ids)).values(**values)
                            .returning(*table.columns))).mappings().all()
    await s.commit()
    return [dict(r) for r in sorted(rows, key=lambda r: r["id"])]
