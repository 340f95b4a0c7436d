"""The delivery worker: sends what the outbox holds, retrying with backoff, exactly in order
per recipient. Runs inside `serve`; several processes may run it against one database."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from handlers.background import Worker
from handlers.transport import DeliveryError, Sent
from storage import outbox_store

log = logging.getLogger("ticketbot.delivery")

MAX_BACKOFF = timedelta(minutes=5)
PARALLEL_SENDS = 16


class Transport(Protocol):
    async def deliver(self, message: dict[str, Any]) -> Sent: ...


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential with jitter, at least what the server asked for."""
    base = min(MAX_BACKOFF.total_seconds(), 2.0 ** max(0, attempts - 1))
    delay = base * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


class DeliveryWorker(Worker):
    name = "delivery-worker"

    def __init__(
        self,
        sessions: Any,
        transports: dict[str, Transport],
        clock: Callable[[], datetime],
        on_sent: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.sessions = sessions
        self.transports = transports
        self.clock = clock
        self.on_sent = on_sent
        self._limit = asyncio.Semaphore(PARALLEL_SENDS)

    async def round(self) -> int:
        return await self.run_once()

    async def run_once(self) -> int:
        """Claim one batch and settle it; returns how many messages were attempted."""
        if not self.transports:
            return 0
        # Cleared before the claim, not after it: a message committed while we claim wakes
        # the next round instead of waiting out the poll interval.
        self._wake.clear()
        async with self.sessions() as s:
            batch = await outbox_store.claim(s, self.clock(), tuple(self.transports))
        if batch:
            results = await asyncio.gather(*(self._deliver(m) for m in batch))
            sent = [r for r in results if r is not None]
            async with self.sessions() as s:
                # One statement for the round. A crash before it sends these again after the
                # restart, as a crash between sending and marking always could.
                await outbox_store.mark_sent(s, sent, self.clock())
            for message, result in zip(batch, results, strict=True):
                if result is not None and self.on_sent:
                    self.on_sent(message["channel"])
        return len(batch)

    async def drain(self, max_rounds: int = 1000) -> int:
        """Deliver until nothing is due (the CLI and tests use this)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            if n == 0:
                break
            total += n
        return total

    async def _deliver(self, message: dict[str, Any]) -> tuple[int, str | None] | None:
        """Send one message: (id, far-side id) when it went, None when it did not."""
        transport = self.transports[message["channel"]]
        async with self._limit:
            try:
                sent = await transport.deliver(message)
            except DeliveryError as exc:
                await self._settle_failure(message, exc)
                return None
            except Exception as exc:  # a bug in a transport must not kill the worker
                log.exception("delivery %s crashed", message["id"])
                await self._settle_failure(message, DeliveryError(repr(exc)))
                return None
        return message["id"], sent.external_id

    async def _settle_failure(self, message: dict[str, Any], exc: DeliveryError) -> None:
        now = self.clock()
        async with self.sessions() as s:
            if exc.permanent:
                await outbox_store.mark_failed(s, message["id"], str(exc))
                log.warning("message %s refused for good: %s", message["id"], exc)
                return
            retry_at = now + backoff(message["attempts"], exc.retry_after)
            status = await outbox_store.mark_retry(s, message, str(exc), retry_at, now)
        if status == "failed":
            log.warning("message %s given up after 24 h: %s", message["id"], exc)
        else:
            log.info("message %s retry at %s: %s", message["id"], retry_at.isoformat(), exc)


class WhatsAppTransport:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def deliver(self, message: dict[str, Any]) -> Sent:
        return await self.client.send(message["address"], message["text"])

