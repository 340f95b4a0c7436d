"""Storage on both engines: refs from a sequence, the append-only audit trail, SQLite locking."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.bootstrap import Container
from domain.enums import AuditAction, Channel
from domain.model import AuditEvent
from storage import tables as t
from storage.db import create_engine
from storage.migrate import migrate, schema_state

NOW = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


async def test_migrate_is_idempotent(container: Container) -> None:
    await migrate(container.engine)
    current, head = await schema_state(container.engine)
    assert current == head is not None


async def test_sla_policies_are_seeded(container: Container) -> None:
    async with container.uow() as uow:
        rows = (await uow.session.execute(select(t.sla_policies))).mappings().all()
    by_priority = {r["priority"].value: r for r in rows}
    assert by_priority["critical"]["response_minutes"] == 30
    assert by_priority["critical"]["resolution_minutes"] == 360
    assert by_priority["normal"]["calendar"].value == "business"
    assert by_priority["low"]["resolution_minutes"] == 7 * 9 * 60
    assert by_priority["high"]["escalation_chain"] == ["supervisor", "manager"]


async def test_refs_are_sequential_and_padded(container: Container) -> None:
    async with container.uow() as uow:
        refs = [await uow.tickets.next_ref() for _ in range(3)]
        await uow.commit()
    assert refs == ["FF000001", "FF000002", "FF000003"]


async def test_refs_are_never_reused_after_rollback(container: Container) -> None:
    async with container.uow() as uow:
        first = await uow.tickets.next_ref()
        await uow.commit()
    async with container.uow() as uow:
        await uow.tickets.next_ref()
        await uow.rollback()
    async with container.uow() as uow:
        later = await uow.tickets.next_ref()
        await uow.commit()
    # PostgreSQL sequences leave a gap after a rollback; SQLite's counter row rolls back.
    assert later > first


async def test_concurrent_refs_are_distinct(container: Container) -> None:
    async def one() -> str:
        async with container.uow() as uow:
            ref = await uow.tickets.next_ref()
            await asyncio.sleep(0)
            await uow.commit()
            return ref

    refs = await asyncio.gather(*(one() for _ in range(50)))
    assert len(set(refs)) == 50


async def _one_audit_row(container: Container) -> int:
    async with container.uow() as uow:
        event = AuditEvent(action=AuditAction.CREATED, channel=Channel.CLI, created_at=NOW,
                           new_value={"x": 1})
        uow.add(event)
        await uow.commit()
        return event.id


@pytest.mark.parametrize("verb", ["update", "delete"])
async def test_audit_rows_cannot_change(container: Container, verb: str) -> None:
    event_id = await _one_audit_row(container)
    stmt = (
        update(t.audit_events).where(t.audit_events.c.id == event_id).values(actor_role="admin")
        if verb == "update"
        else delete(t.audit_events).where(t.audit_events.c.id == event_id)
    )
    async with container.engine.connect() as conn:
        with pytest.raises((DBAPIError, IntegrityError)) as info:
            await conn.execute(stmt)
            await conn.commit()
        assert "append-only" in str(info.value)
    async with container.uow() as uow:
        row = (
            await uow.session.execute(
                select(t.audit_events.c.actor_role).where(t.audit_events.c.id == event_id)
            )
        ).one()
    assert row.actor_role is None


async def test_handover_snapshots_cannot_change(container: Container) -> None:
    async with container.engine.begin() as conn:
        await conn.execute(
            t.tickets.insert().values(
                ref="FF999999", title="x", ticket_type="maintenance", source="api",
                priority="normal", status="open", created_at=NOW, updated_at=NOW,
            )
        )
        ticket_id = (await conn.execute(select(t.tickets.c.id))).scalar_one()
        await conn.execute(
            t.handover_snapshots.insert().values(
                ticket_id=ticket_id, handover_type="build_to_qa", snapshot={}, hash="0" * 64,
                created_at=NOW,
            )
        )
    async with container.engine.connect() as conn:
        with pytest.raises((DBAPIError, IntegrityError)):
            await conn.execute(update(t.handover_snapshots).values(hash="1" * 64))
            await conn.commit()


async def test_sqlite_writers_queue_instead_of_failing(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
    engines = [create_engine(url) for _ in range(4)]
    await migrate(engines[0])

    async def bump(engine, n: int) -> None:
        for _ in range(n):
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE counters SET value = value + 1 WHERE name = 'ticket_ref'")
                )

    try:
        await asyncio.gather(*(bump(e, 25) for e in engines))
        async with engines[0].connect() as conn:
            value = (await conn.execute(
                text("SELECT value FROM counters WHERE name = 'ticket_ref'"))).scalar_one()
        assert value == 100
    finally:
        for e in engines:
            await e.dispose()
