"""Claiming and settling outbox rows for the delivery worker (several processes may run it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import tables as t
from storage.leases import lease

# Longer than one send may take (the clients time out at 15 s): a worker killed mid-send
# holds its messages, and the ones after them to the same person, this long at most.
LEASE = timedelta(seconds=20)
GIVE_UP_AFTER = timedelta(hours=24)

_o = t.outbox.c


async def claim(
    s: AsyncSession, now: datetime, channels: tuple[str, ...], limit: int = 50
) -> list[dict[str, Any]]:
    """Take up to `limit` due messages, at most the oldest unsent one per recipient.

    A claim is a lease: the row's next_attempt_at moves LEASE ahead, so a worker that dies
    mid-send lets another one retry after the lease. Within one recipient, messages go in the
    order they were written: a message waits while an older one to the same address is unsent.
    """
    earlier = aliased(t.outbox)
    blocked = exists().where(
        and_(
            earlier.c.address == _o.address,
            earlier.c.status.in_(("pending", "sending")),
            earlier.c.id < _o.id,
        )
    )
    due = (
        select(_o.id)
        .where(
            _o.status.in_(("pending", "sending")),
            _o.channel.in_(channels),
            _o.next_attempt_at <= now,
            ~blocked,
        )
        .order_by(_o.id)
        .limit(limit)
    )
    return await lease(s, t.outbox, due, status="sending", next_attempt_at=now + LEASE,
                       attempts=_o.attempts + 1)


async def mark_sent(s: AsyncSession, sent: list[tuple[int, str | None]],
                    now: datetime) -> None:
    """(message id, id the far side gave it) pairs, settled in one statement."""
    if not sent:
        return
    await s.execute(
        update(t.outbox)
        .where(_o.id == bindparam("message_id"))
        .values(status="sent", sent_at=now, external_id=bindparam("far_id"), last_error=None,
                delivery_status="sent"),
        [{"message_id": message_id, "far_id": far_id} for message_id, far_id in sent],
    )
    await s.commit()


async def mark_retry(
    s: AsyncSession, message: dict[str, Any], error: str, retry_at: datetime, now: datetime
) -> str:
    """Back off, or give up once the message is a day old. Returns the new status."""
    give_up = message["created_at"] <= now - GIVE_UP_AFTER
    status = "failed" if give_up else "pending"
    await s.execute(
        update(t.outbox)
        .where(_o.id == message["id"])
        .values(status=status, next_attempt_at=retry_at, last_error=error[:1000],
                delivery_status="failed" if give_up else None)
    )
    await s.commit()
    return status


async def mark_failed(s: AsyncSession, message_id: int, error: str) -> None:
    """A permanent refusal (bad address, bad request): retrying would not help."""
    await s.execute(
        update(t.outbox)
        .where(_o.id == message_id)
        .values(status="failed", last_error=error[:1000], delivery_status="failed")
    )
    await s.commit()


async def listing(s: AsyncSession, *, failed: bool, limit: int = 200) -> list[dict[str, Any]]:
    statuses = ("failed",) if failed else ("pending", "sending")
    rows = (
        await s.execute(
            select(t.outbox).where(_o.status.in_(statuses)).order_by(_o.id).limit(limit)
        )
    ).mappings().all()
    return [dict(r) for r in rows]
