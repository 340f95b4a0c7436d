"""The bare limit for the WhatsApp benchmark: an aiohttp handler that inserts the raw webhook
body with one asyncpg statement and answers 200. Nothing else."""

from __future__ import annotations

import sys

import asyncpg
from aiohttp import web


async def main(dsn: str, port: int) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=10)
    await pool.execute("CREATE TABLE IF NOT EXISTS raw_messages "
                       "(id bigserial PRIMARY KEY, body text NOT NULL)")

    async def hook(request: web.Request) -> web.Response:
        await pool.execute("INSERT INTO raw_messages (body) VALUES ($1)", await request.text())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhooks/waha", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    import asyncio

    await asyncio.Event().wait()


if __name__ == "__main__":
    import asyncio

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
