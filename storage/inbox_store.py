"""The WhatsApp inbox: events stored on arrival, claimed in order per chat, settled once.

Several processes may run the inbox worker: a claim is a lease, and a chat's next event waits
while an earlier one of the same chat is unsettled, so each chat's messages apply in order."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from storage import tables as t
from storage.leases import lease

# Longer than applying one message may take (a media download times out at 15 s).
LEASE = timedelta(seconds=30)
# An event that failed this often is set aside (kept, with its error) instead of retried.
MAX_ATTEMPTS = 5

_i = t.waha_inbox.c


async def enqueue(conn: AsyncConnection, key: str, chat: str, payload: dict[str, Any],
                  now: datetime) -> bool:
    """Store an event; False when its key is stored already (WAHA sent it twice)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (insert(t.waha_inbox)
            .values(key=key[:255], chat=chat[:120], payload=payload, received_at=now,
                    attempts=0)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(_i.id))
    return (await conn.execute(stmt)).first() is not None


async def claim(s: AsyncSession, now: datetime, limit: int = 32) -> list[dict[str, Any]]:
    """Up to `limit` events, at most the oldest unsettled one per chat, leased LEASE long."""
    earlier = aliased(t.waha_inbox)
    blocked = exists().where(and_(earlier.c.chat == _i.chat, earlier.c.processed_at.is_(None),
                                  earlier.c.id < _i.id))
    free = (_i.claimed_until.is_(None)) | (_i.claimed_until < now)
    due = (select(_i.id).where(_i.processed_at.is_(None), free, ~blocked)
           .order_by(_i.id).limit(limit))
    return await lease(s, t.waha_inbox, due, claimed_until=now + LEASE,
                       attempts=_i.attempts + 1)


async def settle(s: AsyncSession, done: list[int], now: datetime) -> None:
    if done:
        await s.execute(update(t.waha_inbox).where(_i.id == bindparam("event_id"))
                        .values(processed_at=now, claimed_until=None),
                        [{"event_id": event_id} for event_id in done])
    await s.commit()


async def failed(s: AsyncSession, event_id: int, attempts: int, error: str,
                 now: datetime) -> bool:
    """Record a failure; True when the event is set aside for good. An event its apply
    settled before failing stays settled."""
    give_up = attempts >= MAX_ATTEMPTS
    await s.execute(update(t.waha_inbox).where(_i.id == event_id, _i.processed_at.is_(None))
                    .values(last_error=error[:2000], processed_at=now if give_up else None))
    await s.commit()
    return give_up


async def has_waiting(s: AsyncSession, chat: str) -> bool:
    """Whether this chat has stored events not yet applied."""
    stmt = select(_i.id).where(_i.chat == chat, _i.processed_at.is_(None)).limit(1)
    return (await s.execute(stmt)).first() is not None


async def waiting(s: AsyncSession) -> int:
    """How many events are not yet applied (the tests read it)."""
    return int((await s.execute(select(func.count()).select_from(t.waha_inbox)
                                .where(_i.processed_at.is_(None)))).scalar_one())
