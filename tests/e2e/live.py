"""The real app on a real port, in a thread with its own event loop, for tests whose driver is
synchronous (hypothesis, schemathesis)."""

from __future__ import annotations

import asyncio
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from aiohttp import web

from bot.app import create_app
from bot.bootstrap import Container, build
from bot.config import Settings
from storage.migrate import migrate


class LiveApp:
    def __init__(self, settings: Settings,
                 prepare: Callable[[Container], Awaitable[None]] | None = None) -> None:
        self.settings = settings
        self.prepare = prepare
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        container = build(self.settings)
        await migrate(container.engine)
        if self.prepare is not None:
            await self.prepare(container)
        self.runner = web.AppRunner(create_app(container, run_worker=False))
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(self.url + path, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    @contextmanager
    def running(self) -> Iterator[LiveApp]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        assert self.ready.wait(30), "the app did not start"
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            thread.join(10)
