"""The inbox worker: applies the WhatsApp events the webhook stored, in order per chat.

The webhook answers WAHA as soon as an event is stored (one statement), so a burst of messages
is taken in at the speed of the database instead of holding WAHA's requests open while each is
applied. An event is settled in the very transaction that applies it (chat.respond); one that
needed no transaction (a duplicate) is settled on its own. A crash before the commit leaves it
unsettled and unapplied, and its lease running out lets it be applied again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from handlers.api.errors import database_unavailable
from handlers.background import Worker
from storage import inbox_store

log = logging.getLogger("ticketbot.whatsapp")



MAX_IN_FLIGHT = 32  # events being applied at once (each of a different chat)


class InboxWorker(Worker):
    name = "inbox-worker"

    def __init__(self, sessions: Any, apply: Callable[[dict[str, Any], int], Awaitable[bool]],
                 clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.sessions = sessions
        self.apply = apply
        self.clock = clock
        self._in_flight: set[asyncio.Task[None]] = set()

    async def round(self) -> int:
        return await self.claim_and_start()

    async def claim_and_start(self) -> int:
        """Claim what there is room for and start applying it; how many were claimed."""
        self._wake.clear()  # an event stored, or one settled, from now on wakes the next claim
        room = MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            return 0
        async with self.sessions() as s:
            batch = await inbox_store.claim(s, self.clock(), limit=room)
        for event in batch:
            task = asyncio.create_task(self._apply(event))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(batch)

    async def drain(self, max_rounds: int = 10_000) -> int:
        """Apply until nothing is waiting (the CLI and tests use it)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.claim_and_start()
            if self._in_flight:
                await asyncio.gather(*self._in_flight)
            if n == 0 and not self._in_flight:
                break
            total += n
        return total

    async def _apply(self, event: dict[str, Any]) -> None:
        try:
            settled = await self.apply(event["payload"], event["id"])
        except Exception as exc:
            # Recorded whatever it was (a full disk fails as an OSError, like a lost database):
            # the lease brings the event back, and MAX_ATTEMPTS sets it aside.
            if not database_unavailable(exc):
                log.exception("inbox event %s failed (attempt %d)", event["key"],
                              event["attempts"])
            try:
                async with self.sessions() as s:
                    if await inbox_store.failed(s, event["id"], event["attempts"], repr(exc),
                                                self.clock()):
                        log.error("inbox event %s set aside after %d attempts", event["key"],
                                  event["attempts"])
            except Exception as again:  # the database is away: the lease will bring it back
                log.warning("inbox event %s: failure not recorded (%s)", event["key"], again)
            return
        if not settled:  # (a duplicate, or ignored before anything was written)
            try:
                async with self.sessions() as s:
                    await inbox_store.settle(s, [event["id"]], self.clock())
            except Exception as exc:  # not settled: the next try finds a duplicate
                if not database_unavailable(exc):
                    log.exception("inbox event %s applied but not settled", event["key"])
        self.wake()  # the chat's next event may go now

    async def stop(self) -> None:
        await super().stop()
        for task in list(self._in_flight):
            task.cancel()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
