"""Fault drills: PostgreSQL unreachable for a while, then back, with no restart."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.app import create_app
from bot.bootstrap import build
from storage import inbox_store
from storage import tables as t
from tests.conftest import Clock, make_settings
from tests.e2e.conftest import HMAC_KEY, THABO
from tests.fakes.waha import FakeWaha, WebhookSender
from tests.seed import seed_people


class FlakyProxy:
    """A TCP proxy to PostgreSQL that can drop every connection and refuse new ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = True
        self.pipes: set[asyncio.Task] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        for task in (asyncio.create_task(pipe(reader, up_writer)),
                     asyncio.create_task(pipe(up_reader, writer))):
            self.pipes.add(task)
            task.add_done_callback(self.pipes.discard)

    def go_down(self) -> None:
        self.up = False
        for w in list(self.writers):
            w.close()
        self.writers.clear()

    def come_back(self) -> None:
        self.up = True

    async def stop(self) -> None:
        self.go_down()
        self.server.close()
        for task in list(self.pipes):
            task.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)


@pytest.mark.postgres
async def test_postgres_outage_gives_503_and_recovers(postgres_url: str, tmp_path: Path,
                                                      clock: Clock) -> None:
    url = make_url(postgres_url)
    proxy = FlakyProxy(url.port or 5432)
    port = await proxy.start()
    proxied = url.set(port=port).render_as_string(hide_password=False)
    async with FakeWaha(api_key="k") as waha:
        container = build(make_settings(proxied, tmp_path, waha_url=waha.url, waha_api_key="k",
                                        waha_webhook_hmac_key=HMAC_KEY), clock=clock)
        await seed_people(container)
        async with TestClient(TestServer(create_app(container))) as client:
            hook = WebhookSender(str(client.make_url("/webhooks/waha")), HMAC_KEY)
            first = hook.message_payload(THABO, "fault DR1769155 no light")
            assert await hook.send("message", first) == [200]

            proxy.go_down()
            during = hook.message_payload(THABO, "fault DR1716390 fibre cut")
            assert await hook.send("message", during) == [503]
            assert (await client.get("/readyz")).status == 503
            assert (await client.get("/healthz")).status == 200

            proxy.come_back()
            # WAHA retries the event it got a 503 for; it is applied once
            assert await hook.send("message", during, retries=20, retry_delay=0.2) == [200]
            assert await hook.send("message", during) == [200]
            assert (await client.get("/readyz")).status == 200
            # what was answered 200 is stored; the inbox worker applies it (each once)
            for _ in range(100):
                async with container.uow() as uow:
                    waiting = await inbox_store.waiting(uow.session)
                if waiting == 0:
                    break
                await asyncio.sleep(0.1)
            async with container.uow() as uow:
                count = (await uow.session.execute(
                    select(func.count()).select_from(t.tickets))).scalar_one()
                half = (await uow.session.execute(
                    select(func.count()).select_from(t.tickets)
                    .where(t.tickets.c.sla_policy.is_(None)))).scalar_one()
            assert waiting == 0 and count == 2 and half == 0
            replies = await waha.wait_for_sent(2, within=10)
            assert sorted(m.text.split()[1] for m in replies[:2]) == ["FF000001", "FF000002"]
        await container.close()
    await proxy.stop()


@pytest.mark.postgres
async def test_kill_9_mid_load_loses_and_doubles_nothing(postgres_url: str,
                                                         tmp_path: Path) -> None:
    import json
    import os
    import signal
    import sys

    from tests.e2e.test_serve import ROOT, free_port, wait_status

    container = build(make_settings(postgres_url, tmp_path))
    await seed_people(container)
    await container.close()
    async with FakeWaha(api_key="k") as waha:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKETBOT_", "SLACK_"))}
        env.update({"PYTHONPATH": str(ROOT), "TICKETBOT_DATABASE_URL": postgres_url,
                    "TICKETBOT_PORT": str(port), "TICKETBOT_WAHA_URL": waha.url,
                    "TICKETBOT_WAHA_API_KEY": "k", "TICKETBOT_MEDIA_DIR": str(tmp_path / "m")})

        async def start() -> asyncio.subprocess.Process:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", cwd=tmp_path, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            await wait_status(port, "/readyz", 200)
            return proc

        proc = await start()
        hook = WebhookSender(f"http://127.0.0.1:{port}/webhooks/waha")
        # one ticket to write notes on, then a burst of notes cut short by kill -9
        assert await hook.send("message", hook.message_payload(
            "27825550101@c.us", "fault DR1769155 no light")) == [200]
        # (the technician writes notes once told the ticket's ref)
        [logged] = await waha.wait_for_sent(1, within=10)
        assert logged.text.startswith("Logged FF000001")
        messages = [hook.message_payload("27825550101@c.us", f"note FF000001 drill {n}")
                    for n in range(60)]
        statuses: dict[int, int] = {}

        async def post(n: int) -> None:
            body = json.dumps(hook.envelope("message", messages[n])).encode()
            statuses[n] = await hook.post_raw(body, hook.headers_for(body, {}))

        tasks = [asyncio.create_task(post(n)) for n in range(60)]
        await asyncio.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        await asyncio.gather(*tasks)
        # Whatever was answered 200 before the kill must be in the database: checked below,
        # where every one of the 60 notes must exist exactly once.
        assert all(s in (0, 200) for s in statuses.values())

        proc = await start()
        try:
            # WAHA retries what was not answered, and (being WAHA) some of what was
            for n in range(60):
                body = json.dumps(hook.envelope("message", messages[n])).encode()
                assert await hook.post_raw(body, hook.headers_for(body, {}),
                                           retries=10, retry_delay=0.1) == 200
            container = build(make_settings(postgres_url, tmp_path))
            # up to the 30 s lease of an event, and the 20 s of a message, claimed before
            # the kill
            for _ in range(700):
                async with container.uow() as uow:
                    unapplied = await inbox_store.waiting(uow.session)
                    pending = (await uow.session.execute(
                        select(func.count()).select_from(t.outbox)
                        .where(t.outbox.c.status != "sent"))).scalar_one()
                if pending == 0 and unapplied == 0:
                    break
                await asyncio.sleep(0.1)
            async with container.uow() as uow:
                notes = [r[0] for r in (await uow.session.execute(select(t.notes.c.text))).all()]
                sent = (await uow.session.execute(
                    select(func.count()).select_from(t.outbox))).scalar_one()
            await container.close()
        finally:
            proc.terminate()
            await proc.wait()
    assert sorted(notes) == sorted(f"drill {n}" for n in range(60))  # each applied once
    assert unapplied == 0 and pending == 0 and sent == 61
    # every reply reached WAHA; one being sent at the moment of the kill may go twice
    # (WAHA has no idempotency key for sendText), never more
    texts = waha.texts_to(THABO)
    assert 61 <= len(texts) <= 62
    assert sum(t.startswith("Logged FF000001") for t in texts) in (1, 2)
