"""The WhatsApp inbox (storage/inbox_store.py) and its worker, on both engines."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select, update

from bot.bootstrap import Container
from handlers.whatsapp.envelope import parse_message
from handlers.whatsapp.inbox import InboxWorker
from handlers.whatsapp.webhook import WhatsAppDoor
from storage import inbox_store
from storage import tables as t
from tests.conftest import Clock
from tests.fakes.waha import WebhookSender
from tests.seed import People

A = "27825550101@c.us"  # Thabo's DM
B = "27825550102@c.us"  # Sipho's DM
HOOK = WebhookSender("http://127.0.0.1:9/unused")
PAST_LEASE = inbox_store.LEASE.total_seconds() + 1


async def put(container: Container, chat: str, text: str) -> dict[str, Any]:
    """Store one realistic message event as the webhook does; the payload stored."""
    payload = HOOK.message_payload(chat, text)
    async with container.engine.begin() as conn:
        assert await inbox_store.enqueue(conn, f"waha:{payload['id']}", chat, payload,
                                         container.clock())
    return payload


async def rows(container: Container) -> list[dict[str, Any]]:
    async with container.sessions() as s:
        result = await s.execute(select(t.waha_inbox).order_by(t.waha_inbox.c.id))
        return [dict(r) for r in result.mappings()]


async def claim(container: Container, clock: Clock, limit: int = 32) -> list[str]:
    async with container.sessions() as s:
        return [e["payload"]["body"] for e in await inbox_store.claim(s, clock(), limit=limit)]


async def waiting(container: Container) -> int:
    async with container.sessions() as s:
        return await inbox_store.waiting(s)


async def count(container: Container, table: Any) -> int:
    async with container.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(table))).scalar_one())


async def test_the_same_key_is_stored_once(container: Container, clock: Clock) -> None:
    payload = HOOK.message_payload(A, "hello")
    key = f"waha:{payload['id']}"
    first = clock()
    async with container.engine.begin() as conn:
        assert await inbox_store.enqueue(conn, key, A, payload, clock()) is True
    clock.advance(seconds=5)
    async with container.engine.begin() as conn:
        assert await inbox_store.enqueue(conn, key, A, {**payload, "body": "x"}, clock()) is False
    [row] = await rows(container)
    assert (row["key"], row["chat"], row["payload"]) == (key, A, payload)
    assert row["received_at"] == first  # the first one was kept
    assert row["processed_at"] is None and row["attempts"] == 0
    assert await waiting(container) == 1


async def test_drain_applies_each_chat_in_order_once(container: Container, clock: Clock) -> None:
    stored = [(A, "a1"), (B, "b1"), (A, "a2"), (A, "a3"), (B, "b2")]
    for chat, text in stored:
        await put(container, chat, text)
    applied: list[tuple[str, str]] = []
    busy: set[str] = set()
    overlaps: list[str] = []

    async def apply(payload: dict[str, Any], event_id: int) -> bool:
        chat = payload["from"]
        if chat in busy:
            overlaps.append(chat)
        busy.add(chat)
        await asyncio.sleep(0)  # let other chats' events run meanwhile
        applied.append((chat, payload["body"]))
        busy.discard(chat)
        return False

    worker = InboxWorker(container.sessions, apply, clock)
    assert await worker.drain() == 5
    assert [x for c, x in applied if c == A] == ["a1", "a2", "a3"]
    assert [x for c, x in applied if c == B] == ["b1", "b2"]
    assert sorted(applied) == sorted(stored) and overlaps == []
    assert await waiting(container) == 0
    assert all(r["processed_at"] == clock.now and r["attempts"] == 1 and r["last_error"] is None
               for r in await rows(container))
    assert await worker.drain() == 0 and len(applied) == 5


async def test_a_claimed_event_holds_its_chat_until_settled_or_its_lease_ends(
    container: Container, clock: Clock
) -> None:
    for chat, text in [(A, "a1"), (A, "a2"), (B, "b1")]:
        await put(container, chat, text)
    assert await claim(container, clock, limit=1) == ["a1"]  # claimed, never settled
    # neither a1 (leased) nor a2 (a1 is unsettled) goes; the other chat does
    assert await claim(container, clock) == ["b1"]
    clock.advance(seconds=PAST_LEASE - 2)
    assert await claim(container, clock) == []  # both leases still run
    clock.advance(seconds=2)
    # the claimer died before settling: the lease ran out and the events go again, in order
    assert await claim(container, clock) == ["a1", "b1"]
    assert [r["attempts"] for r in await rows(container)] == [2, 0, 2]
    assert await waiting(container) == 3
    [a1, _, _] = await rows(container)
    async with container.sessions() as s:
        await inbox_store.settle(s, [a1["id"]], clock())
    assert await claim(container, clock) == ["a2"]
    assert await waiting(container) == 2


async def test_a_failing_event_is_retried_then_set_aside(container: Container,
                                                         clock: Clock) -> None:
    await put(container, A, "boom")
    await put(container, A, "after")
    await put(container, B, "other")
    applied: list[str] = []

    async def apply(payload: dict[str, Any], event_id: int) -> bool:
        if payload["body"] == "boom":
            raise RuntimeError("cannot apply boom")
        applied.append(payload["body"])
        return False

    worker = InboxWorker(container.sessions, apply, clock)
    await worker.drain()
    boom = (await rows(container))[0]
    assert "cannot apply boom" in boom["last_error"]
    assert boom["processed_at"] is None and boom["attempts"] == 1
    assert applied == ["other"]  # the failure holds back its own chat only
    assert await worker.drain() == 0  # not before the lease ends
    for attempt in range(2, inbox_store.MAX_ATTEMPTS + 1):
        clock.advance(seconds=PAST_LEASE)
        await worker.drain()
        boom = (await rows(container))[0]
        assert boom["attempts"] == attempt and "cannot apply boom" in boom["last_error"]
        if attempt < inbox_store.MAX_ATTEMPTS:
            assert boom["processed_at"] is None and applied == ["other"]
    # set aside: kept with its error, and the chat's next event applied
    assert boom["processed_at"] == clock.now
    assert applied == ["other", "after"]
    assert await waiting(container) == 0
    clock.advance(seconds=PAST_LEASE)
    assert await worker.drain() == 0 and applied == ["other", "after"]


async def test_a_fault_through_the_door_and_the_worker_is_logged_once(
    container: Container, clock: Clock, people: People
) -> None:
    door = WhatsAppDoor(container, client=None, on_queued=None, on_stored=lambda: None)
    payload = HOOK.message_payload(A, "fault DR1769155 no light")
    assert (await door.store(parse_message(payload), payload)).status == "queued"
    assert await count(container, t.tickets) == 0  # stored, not yet applied
    worker = InboxWorker(container.sessions, door.apply_stored, clock)
    assert await worker.drain() == 1
    assert await count(container, t.tickets) == 1
    [row] = await rows(container)
    assert row["key"] == f"waha:{payload['id']}" and row["chat"] == A
    assert row["processed_at"] == clock.now and row["last_error"] is None
    async with container.sessions() as s:
        replies = (await s.execute(select(t.outbox.c.text))).scalars().all()
    assert len(replies) == 1 and replies[0].startswith("Logged FF")

    # WAHA sends it again: stored once, applied once
    again = await door.store(parse_message(payload), payload)
    assert again.status == "duplicate"
    assert await worker.drain() == 0
    assert await count(container, t.tickets) == 1
    assert await count(container, t.waha_inbox) == 1
    assert await count(container, t.outbox) == 1

    # applied, but the settle was lost (as if a crash): the retry finds a duplicate
    async with container.engine.begin() as conn:
        await conn.execute(update(t.waha_inbox).values(processed_at=None, claimed_until=None))
    clock.advance(seconds=1)
    assert await worker.drain() == 1
    assert await count(container, t.tickets) == 1
    assert await count(container, t.outbox) == 1
    assert await waiting(container) == 0


async def test_a_full_disk_is_recorded_like_any_failure(container: Container,
                                                        clock: Clock) -> None:
    """An OSError (a full disk while storing a photo) is not mistaken for a lost database:
    it is recorded, and set aside after MAX_ATTEMPTS instead of blocking its chat forever."""
    await put(container, A, "photo")

    async def apply(payload: dict[str, Any], event_id: int) -> bool:
        raise OSError(28, "No space left on device")

    worker = InboxWorker(container.sessions, apply, clock)
    for _ in range(inbox_store.MAX_ATTEMPTS):
        await worker.drain()
        [row] = await rows(container)
        assert "No space left" in (row["last_error"] or "")
        clock.advance(seconds=PAST_LEASE)
    [row] = await rows(container)
    assert row["processed_at"] is not None and await waiting(container) == 0


async def test_a_failure_after_the_apply_settled_it_leaves_it_settled(
        container: Container, clock: Clock) -> None:
    await put(container, A, "settled, then trouble")

    async def apply(payload: dict[str, Any], event_id: int) -> bool:
        async with container.sessions() as s:
            await inbox_store.settle(s, [event_id], clock())
        raise RuntimeError("after the commit")

    await InboxWorker(container.sessions, apply, clock).drain()
    [row] = await rows(container)
    assert row["processed_at"] is not None and row["last_error"] is None
    assert await waiting(container) == 0


async def test_the_door_applies_inline_unless_a_burst_is_on_or_the_chat_has_a_backlog(
    container: Container, clock: Clock, people: People
) -> None:
    from handlers.whatsapp import webhook

    door = WhatsAppDoor(container, client=None, on_queued=None, on_stored=lambda: None)
    first = parse_message(HOOK.message_payload(A, "status"))
    assert await door._inline(first)  # quiet: applied while WAHA waits
    door.applying = webhook.INLINE_LIMIT
    assert not await door._inline(first)  # a burst: stored and answered at once
    door.applying = 0
    await put(container, A, "stored during the burst")
    # A's next message must not overtake the stored one; B's has nothing to wait for.
    assert not await door._inline(parse_message(HOOK.message_payload(A, "mine")))
    assert await door._inline(parse_message(HOOK.message_payload(B, "mine")))
    assert await door._inline(parse_message({**HOOK.message_payload(A, "x"), "fromMe": True}))
