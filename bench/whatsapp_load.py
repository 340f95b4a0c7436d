"""WhatsApp load: the real `ticketbot serve` on PostgreSQL, a fake WAHA, webhooks on loopback.

    python bench/whatsapp_load.py [--technicians 200] [--messages 4000] [--concurrency 64]
                                  [--postgres URL] [--json]

Technicians send a realistic mix: 20 % new faults, 50 % notes and readings, 30 % status
questions. Each message is timed from the moment its webhook is posted to the moment the
bot's reply reaches the fake WAHA (so the figure includes the outbox and delivery worker).
Prints accepted messages per second and p50/p95/p99 latency; --json writes them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from bench.common import DEFAULT_POSTGRES, free_port, scratch_database, wait_ready  # noqa: E402
from tests.fakes.waha import WebhookSender  # noqa: E402


class ReplySink:
    """A minimal WAHA that records when each chat got a reply (no checks beyond the key)."""

    def __init__(self) -> None:
        self.waiters: dict[str, list[asyncio.Future[float]]] = {}
        self.received = 0

    def expect(self, chat: str) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(chat, []).append(fut)
        return fut

    async def send_text(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Api-Key") != "bench":
            return web.json_response({"message": "Unauthorized"}, status=401)
        body = await request.json()
        self.received += 1
        waiting = self.waiters.get(body["chatId"])
        if waiting:
            fut = waiting.pop(0)
            if not fut.done():
                fut.set_result(time.perf_counter())
        return web.json_response({"id": f"true_{body['chatId']}_{uuid.uuid4().hex}"},
                                 status=201)


def cli(url: str, *args: str) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOT_")}
    env.update({"PYTHONPATH": str(ROOT), "TICKETBOT_DATABASE_URL": url})
    subprocess.run([sys.executable, "-m", "bot", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def phone(i: int) -> str:
    return f"2783{i:07d}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--technicians", type=int, default=200)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", metavar="SVG",
                        help="record serve with py-spy into this file (absolute path)")
    args = parser.parse_args()
    async with scratch_database(args.postgres) as url:
        result = await run(args, url)
    report(result)


async def run(args: argparse.Namespace, url: str) -> dict:
    tmp = Path(tempfile.mkdtemp())
    people = tmp / "people.csv"
    with people.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "role", "phone", "slack_id", "contractor"])
        for i in range(args.technicians):
            w.writerow([f"Tech {i}", "technician", phone(i), "", "Velocity Build"])
    cli(url, "users", "import", str(people))
    cli(url, "drs", "import", str(SHARED / "data" / "dr-register.xlsx"))

    sink = ReplySink()
    sink_app = web.Application()
    sink_app.router.add_post("/api/sendText", sink.send_text)
    sink_runner = web.AppRunner(sink_app, access_log=None)
    await sink_runner.setup()
    sink_port = free_port()
    await web.TCPSite(sink_runner, "127.0.0.1", sink_port).start()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOT_")}
    env.update({"PYTHONPATH": str(ROOT), "TICKETBOT_DATABASE_URL": url,
                "TICKETBOT_PORT": str(port), "TICKETBOT_WAHA_URL": f"http://127.0.0.1:{sink_port}",
                "TICKETBOT_WAHA_API_KEY": "bench", "TICKETBOT_MEDIA_DIR": str(tmp / "media")})
    command = [sys.executable, "-m", "bot", "serve"]
    if args.profile:
        command = ["py-spy", "record", "-o", args.profile, "-r", "200",
                   "-f", "raw", "--", *command]
    server = await asyncio.create_subprocess_exec(
        *command, cwd=tmp, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await wait_ready(port)
        result = await drive(args, port, sink)
        result["accepted_per_s_open"] = await fire(port, args)
        if not args.profile:  # (under py-spy, the pid is py-spy's)
            result.update(memory_of(server.pid))
        result["baseline_per_s"] = await baseline(url, args)
        result["ratio"] = result["accepted_per_s_open"] / result["baseline_per_s"]
    finally:
        # py-spy writes its profile on SIGINT, and passes the signal on to serve.
        server.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
        await server.wait()
        await sink_runner.cleanup()
    result["json"] = args.json
    return result


def memory_of(pid: int) -> dict:
    """serve's resident memory now and at its peak, after the load (Linux /proc)."""
    fields = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return {"serve_rss_mb": round(fields["VmRSS"], 1),
            "serve_peak_rss_mb": round(fields["VmHWM"], 1)}


def report(result: dict) -> None:
    if result.pop("json"):
        print(json.dumps(result))
    else:
        print(f"{result['messages']} messages from {result['technicians']} technicians, "
              f"concurrency {result['concurrency']}")
        print(f"accepted {result['accepted_per_s']:.0f} msg/s; webhook -> reply at WAHA: "
              f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
              f"p99 {result['p99_ms']:.1f} ms; errors {result['errors']}")
        print(f"webhooks accepted (200) per second, posting without waiting for replies: "
              f"ticketbot {result['accepted_per_s_open']:.0f}/s, bare aiohttp + one asyncpg "
              f"insert {result['baseline_per_s']:.0f}/s, ratio {result['ratio']:.2f}")
        if "serve_rss_mb" in result:
            print(f"serve memory after the load: RSS {result['serve_rss_mb']:.0f} MB, "
                  f"peak {result['serve_peak_rss_mb']:.0f} MB")


def mixed_text(rng: random.Random, drs: list[str]) -> str:
    """The issue's mix: 20 % new faults, 50 % notes and readings, 30 % status questions."""
    roll = rng.random()
    if roll < 0.2:
        return f"fault {rng.choice(drs)} no light on ONT"
    if roll < 0.45:
        return f"note waiting for the ladder {rng.randint(1, 999)}"
    if roll < 0.7:
        return rng.choice([f"rx -{rng.randint(15, 27)}.{rng.randint(0, 9)}",
                           f"ont ALCL{rng.randint(10**7, 10**8 - 1)}"])
    return rng.choice(["mine", "status"])


DRS = [f"DR17{n:05d}" for n in range(100)]


def _payloads(args: argparse.Namespace, hook: WebhookSender) -> list[bytes]:
    rng = random.Random(11)
    out = []
    for _ in range(args.messages):
        chat = f"{phone(rng.randrange(args.technicians))}@c.us"
        payload = hook.message_payload(chat, mixed_text(rng, DRS))
        out.append(json.dumps(hook.envelope("message", payload)).encode())
    return out


async def _post_all(url: str, bodies: list[bytes], concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)
    ok = 0
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        async def one(body: bytes) -> None:
            nonlocal ok
            async with sem, http.post(url, data=body,
                                      headers={"Content-Type": "application/json"}) as resp:
                await resp.read()
                ok += resp.status == 200

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return ok / (time.perf_counter() - started)


async def fire(port: int, args: argparse.Namespace) -> float:
    url = f"http://127.0.0.1:{port}/webhooks/waha"
    return await _post_all(url, _payloads(args, WebhookSender(url)), args.concurrency)


async def baseline(url: str, args: argparse.Namespace) -> float:
    """The same generator against the bare handler, in its own process like serve."""
    port = free_port()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bench" / "baseline_server.py"), dsn, str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        target = f"http://127.0.0.1:{port}/webhooks/waha"
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.post(target, data=b"{}") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
        return await _post_all(target, _payloads(args, WebhookSender(target)),
                               args.concurrency)
    finally:
        proc.terminate()
        await proc.wait()


async def drive(args: argparse.Namespace, port: int, sink: ReplySink) -> dict:
    rng = random.Random(7)
    hook = WebhookSender(f"http://127.0.0.1:{port}/webhooks/waha")
    latencies: list[float] = []
    errors = 0
    # One conversation per technician at a time, so a reply can be matched to its message.
    busy = {i: asyncio.Lock() for i in range(args.technicians)}
    has_ticket: set[int] = set()
    sem = asyncio.Semaphore(args.concurrency)

    def text_for(i: int) -> str:
        if i not in has_ticket:  # a technician's first message logs the fault they work on
            has_ticket.add(i)
            return f"fault {rng.choice(DRS)} no light on ONT"
        return mixed_text(rng, DRS)

    async with aiohttp.ClientSession() as http:
        async def one(i: int) -> None:
            nonlocal errors
            async with busy[i], sem:
                chat = f"{phone(i)}@c.us"
                payload = hook.message_payload(chat, text_for(i))
                envelope = hook.envelope("message", payload)
                body = json.dumps(envelope).encode()
                waiter = sink.expect(chat)
                started = time.perf_counter()
                async with http.post(hook.target_url, data=body,
                                     headers=hook.headers_for(body, envelope)) as resp:
                    if resp.status != 200:
                        errors += 1
                        waiter.cancel()
                        return
                try:
                    done = await asyncio.wait_for(waiter, 30)
                except TimeoutError:
                    errors += 1
                    return
                latencies.append(done - started)

        order = [rng.randrange(args.technicians) for _ in range(args.messages)]
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in order))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "messages": args.messages, "technicians": args.technicians,
        "concurrency": args.concurrency, "seconds": round(elapsed, 2),
        "accepted_per_s": args.messages / elapsed, "p50_ms": pct(0.50),
        "p95_ms": pct(0.95), "p99_ms": pct(0.99), "mean_ms": statistics.mean(latencies) * 1000,
        "errors": errors,
    }


if __name__ == "__main__":
    asyncio.run(main())
