"""Slack load: 50 concurrent signed `/ticket` commands against the real `serve` on PostgreSQL.

    python bench/slack_load.py [--concurrent 50] [--rounds 5] [--postgres URL] [--json]

Measures the acknowledgement time (request sent -> HTTP 200), which Slack needs within 3 s,
and the time until every answer of a round of 50 had reached the fake Slack's response_url.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from bench.common import DEFAULT_POSTGRES, free_port, scratch_database, wait_ready  # noqa: E402
from tests.fakes.slack import FakeSlack, SlackSigner  # noqa: E402

SECRET = "bench-signing-secret"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


async def run_cli(env: dict[str, str], *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, env=env,
                                                stdout=asyncio.subprocess.DEVNULL)
    if await proc.wait() != 0:
        raise RuntimeError(f"ticketbot {' '.join(args)} failed")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp())
    port = free_port()
    async with scratch_database(args.postgres) as url, FakeSlack() as slack:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKETBOT_", "SLACK_"))}
        env.update({"PYTHONPATH": str(ROOT), "TICKETBOT_DATABASE_URL": url,
                    "TICKETBOT_PORT": str(port), "SLACK_BOT_TOKEN": slack.token,
                    "SLACK_SIGNING_SECRET": SECRET, "TICKETBOT_SLACK_API_URL": slack.api_url,
                    "TICKETBOT_MEDIA_DIR": str(tmp / "media")})
        await run_cli(env, "users", "import", str(SHARED / "data" / "users.csv"))
        await run_cli(env, "drs", "import", str(SHARED / "data" / "dr-register.xlsx"))
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", cwd=tmp, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            await wait_ready(port)
            result = await drive(args, port, slack)
        finally:
            server.terminate()
            await server.wait()
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['commands']} /ticket commands, {args.concurrent} at a time: ack p50 "
              f"{result['ack_p50_ms']:.1f} ms, p99 {result['ack_p99_ms']:.1f} ms, max "
              f"{result['ack_max_ms']:.1f} ms; all {args.concurrent} answers posted within "
              f"{result['round_median_ms']:.0f} ms (median round), "
              f"{result['round_max_ms']:.0f} ms (worst round)")


async def drive(args: argparse.Namespace, port: int, slack: FakeSlack) -> dict:
    signer = SlackSigner(SECRET)
    endpoint = f"http://127.0.0.1:{port}/slack/events"
    async with aiohttp.ClientSession() as http:
        acks: list[float] = []
        rounds: list[float] = []  # until all of a round's ephemeral answers had arrived
        texts = ["new DR1769155 high no light on ONT", "list open", "show FF000001", "help",
                 "list unassigned"]

        async def one(n: int) -> None:
            response_url = slack.response_url()
            body, headers = signer.slash_command(texts[n % len(texts)], "U0SUP00001",
                                                 response_url=response_url)
            started = time.perf_counter()
            async with http.post(endpoint, data=body, headers=headers) as resp:
                assert resp.status == 200, resp.status
            acks.append(time.perf_counter() - started)

        # warm-up: the first request makes bolt call auth.test
        await one(0)
        acks.clear()
        total = 0
        for _ in range(args.rounds):
            start_responses = len(slack.responses)
            t0 = time.perf_counter()
            await asyncio.gather(*(one(n) for n in range(args.concurrent)))
            await slack.wait_for_response(start_responses + args.concurrent, within=60)
            rounds.append(time.perf_counter() - t0)
            total += args.concurrent
    return {"commands": total, "ack_p50_ms": pct(acks, 0.5), "ack_p99_ms": pct(acks, 0.99),
            "ack_max_ms": max(acks) * 1000, "round_median_ms": pct(rounds, 0.5),
            "round_max_ms": max(rounds) * 1000}


if __name__ == "__main__":
    asyncio.run(main())
