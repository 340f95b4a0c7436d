"""The outbox and its delivery worker against a fake WAHA, on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from bot.bootstrap import Container
from domain.model import OutboundMessage
from domain.notify import notify_user
from domain.services import tickets as svc
from handlers.delivery import DeliveryWorker, WhatsAppTransport
from handlers.whatsapp.client import WahaClient
from storage import outbox_store
from storage import tables as t
from tests.conftest import Clock
from tests.fakes.waha import FakeWaha
from tests.seed import People


@pytest.fixture
async def waha() -> AsyncIterator[FakeWaha]:
    async with FakeWaha(api_key="k") as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def worker(container: Container, waha: FakeWaha, http: aiohttp.ClientSession) -> DeliveryWorker:
    client = WahaClient(http, waha.url, "k", "default")
    return DeliveryWorker(container.sessions, {"whatsapp": WhatsAppTransport(client)},
                          container.clock)


async def queue(container: Container, *texts: str, address: str = "27820000001@c.us") -> None:
    async with container.uow() as uow:
        now = container.clock()
        for text in texts:
            await uow.outbox.add(OutboundMessage(channel="whatsapp", address=address, text=text,
                                                 created_at=now, next_attempt_at=now))
        await uow.commit()


async def rows(container: Container) -> list[dict]:
    async with container.uow() as uow:
        result = await uow.session.execute(select(t.outbox).order_by(t.outbox.c.id))
        return [dict(r) for r in result.mappings()]


async def test_sends_in_order_and_records_the_wa_id(container, waha, http) -> None:
    await queue(container, "one", "two", "three")
    assert await worker(container, waha, http).drain() == 3
    assert [m.text for m in waha.sent] == ["one", "two", "three"]
    assert all(r["status"] == "sent" and r["external_id"].startswith("true_")
               for r in await rows(container))


async def test_retry_after_is_honoured(container, waha, http, clock: Clock) -> None:
    waha.rate_limit(retry_after=30, count=1)
    await queue(container, "hello")
    w = worker(container, waha, http)
    await w.run_once()
    row = (await rows(container))[0]
    assert row["status"] == "pending" and "429" in row["last_error"]
    assert row["next_attempt_at"] >= clock.now + timedelta(seconds=30)
    assert await w.run_once() == 0  # not due yet
    clock.advance(seconds=31)
    assert await w.drain() == 1
    assert [m.text for m in waha.sent] == ["hello"]


async def test_a_blocked_message_holds_back_later_ones_to_the_same_person(
    container, waha, http, clock: Clock
) -> None:
    await queue(container, "first", "second")
    await queue(container, "other person", address="27820000002@c.us")
    waha.fail_next(1, status=503)
    w = worker(container, waha, http)
    await w.run_once()
    # "first" failed and "second" waited for it; the other recipient was not held up
    assert [m.text for m in waha.sent] == ["other person"]
    clock.advance(minutes=10)
    await w.drain()
    assert [m.text for m in waha.sent] == ["other person", "first", "second"]


async def test_after_a_day_a_message_is_failed_and_listed(container, waha, http,
                                                         clock: Clock) -> None:
    await queue(container, "too late")
    waha.set_down(True)
    w = worker(container, waha, http)
    await w.run_once()
    clock.advance(hours=25)
    await w.run_once()
    row = (await rows(container))[0]
    assert row["status"] == "failed" and row["delivery_status"] == "failed"
    async with container.uow() as uow:
        listed = await outbox_store.listing(uow.session, failed=True)
    assert [r["text"] for r in listed] == ["too late"]
    waha.set_down(False)
    clock.advance(hours=1)
    assert await w.drain() == 0 and waha.sent == []


async def test_bad_requests_fail_at_once(container, waha, http) -> None:
    async with container.uow() as uow:
        now = container.clock()
        await uow.outbox.add(OutboundMessage(channel="whatsapp", address="x", text="",
                                             created_at=now, next_attempt_at=now))
        await uow.commit()
    waha.fail_next(1, status=400)
    await worker(container, waha, http).run_once()
    assert (await rows(container))[0]["status"] == "failed"


async def test_two_workers_never_send_a_message_twice(container, waha, http) -> None:
    for n in range(40):
        await queue(container, f"m{n}", address=f"2782000{n:04d}@c.us")
    workers = [worker(container, waha, http) for _ in range(3)]
    await asyncio.gather(*(w.drain() for w in workers))
    texts = [m.text for m in waha.sent]
    assert sorted(texts) == sorted(f"m{n}" for n in range(40))
    assert len(texts) == len(set(texts))


async def test_the_same_notice_within_five_minutes_is_sent_once(
    container: Container, people: People, clock: Clock
) -> None:
    async with container.uow() as uow:
        created = await svc.create_ticket(uow, container.context(), people.actor("supervisor"),
                                          svc.NewTicket(dr_number="DR1769155", description="x"))
        await uow.commit()
    ticket = created.ticket
    for minutes in (0, 2, 6):
        clock.now = ticket.created_at + timedelta(minutes=minutes)
        async with container.uow() as uow:
            await notify_user(uow, clock.now, people.tech, "ticket_assigned", ticket)
            await uow.commit()
    sent = [r for r in await rows(container) if r["template"] == "ticket_assigned"]
    assert len(sent) == 2  # minute 0 and minute 6; minute 2 was suppressed
