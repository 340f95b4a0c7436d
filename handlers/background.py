"""The loop the delivery and inbox workers share: a round, and when it found nothing, a nap
until something wakes it or the poll interval passes (work from other processes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from handlers.api.errors import database_unavailable

log = logging.getLogger("ticketbot.workers")

POLL_SECONDS = 1.0


class Worker:
    name = "worker"

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def round(self) -> int:
        """One round of work; how much it found. Clears the wake-up before it looks, so that
        what arrives while it runs wakes the next round."""
        raise NotImplementedError

    async def run_forever(self) -> None:
        while True:
            try:
                n = await self.round()
            except Exception as exc:
                if not database_unavailable(exc):
                    log.exception("%s round failed", self.name)
                n = 0
                await asyncio.sleep(POLL_SECONDS)
            if n:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run_forever(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
