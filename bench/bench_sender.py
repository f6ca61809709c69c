"""Outbox sender throughput against the Bot API stand-in, beside a bare loop of the same calls.

Three questions, each answered in one run on SQLite and, with --pg or TEST_DATABASE_URL, on
PostgreSQL:

- with pacing lifted (paid broadcasts allow up to 1,000 messages/s), how close does the sender
  come to a bare loop that makes the same sendMessage calls through the same messenger with the
  same concurrency and no database at all? Goal: >= 500 msg/s on PostgreSQL and >= 0.5 of the
  bare loop;
- paced at the configured rate (25/s and 100/s by default), does it reach at least 95 % of it
  and never go above it in any one-second window, as the Bot API server counts arrivals?

    PYTHONPATH=. python bench/bench_sender.py [--messages 2000] [--rates 25,100]
        [--engine aiogram] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import PG_SKIPPED, add_pg_option, temporary_postgres
from bot.bootstrap import build_app, build_messenger, build_sender
from bot.config import Settings
from domain.messaging.model import MessageKind, OutboxMessage
from domain.messaging.policy import DeliveryPolicy
from domain.shared.outbox import queue_message
from domain.shared.policy import Policy
from tests.support.standin import TOKEN, BotApiStandIn

FIRST_CHAT = 800_000
CONCURRENCY = 32  # the sender's default max_in_flight; the bare loop uses the same
UNPACED = 100_000.0


class TimedStandIn(BotApiStandIn):
    """The stand-in, noting when each message arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []

    async def _api_sendmessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.arrivals.append(time.monotonic())
        return await super()._api_sendmessage(params, files)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most arrivals within any half-open window of `window` seconds."""
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def figures(times: list[float], sent: int, wall: float) -> dict[str, float]:
    times = sorted(times)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {
        "sent": sent,
        "wall": wall,
        "rate": (len(times) - 1) / span if span > 0 else float("inf"),
        "max_1s": max_in_window(times),
    }


async def bare_loop(messages: int, engine: str) -> dict[str, float]:
    """The same sendMessage calls through the same messenger, CONCURRENCY at a time, no DB."""
    standin = TimedStandIn()
    await standin.start()
    settings = Settings(bot_token=TOKEN, telegram_api_url=standin.base_url, bot_engine=engine)
    messenger = build_messenger(settings)
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with slots:
            await messenger.send_text(str(FIRST_CHAT + i), f"m{i}")

    try:
        for i in range(messages):
            standin.user(FIRST_CHAT + i, f"P{i}", language_code="en")
        await messenger.start()
        started = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(messages)))
        wall = time.monotonic() - started
    finally:
        await messenger.close()
        await standin.close()
    return figures(standin.arrivals, messages, wall)


async def sender_run(messages: int, rate: float, engine: str, url: str) -> dict[str, float]:
    standin = TimedStandIn()
    await standin.start()
    settings = Settings(
        database_url=url, bot_token=TOKEN, telegram_api_url=standin.base_url, bot_engine=engine
    )
    delivery = DeliveryPolicy(rate_per_second=rate, quiet_start=None, quiet_end=None)
    app = await build_app(settings, policy=Policy(delivery=delivery))
    messenger = build_messenger(settings)
    try:
        now = app.clock.now()
        async with app.uow_factory() as uow:
            for i in range(messages):
                standin.user(FIRST_CHAT + i, f"P{i}", language_code="en")
                await queue_message(
                    uow,
                    OutboxMessage(
                        f"bench:{i}", str(FIRST_CHAT + i), MessageKind.SERVICE, text=f"m{i}"
                    ),
                    now,
                )
            await uow.commit()
        await messenger.start()
        sender = build_sender(app, messenger, max_in_flight=CONCURRENCY)
        started = time.monotonic()
        stats = await sender.drain(max_seconds=600)
        wall = time.monotonic() - started
    finally:
        await messenger.close()
        await app.close()
        await standin.close()
    return figures(standin.arrivals, stats.sent, wall)


async def measure(label: str, url_for: Any, args: argparse.Namespace) -> None:
    bare = await bare_loop(args.messages, args.engine)
    unpaced = await sender_run(args.messages, UNPACED, args.engine, await url_for("unpaced"))
    print(f"{label}, {args.messages} messages to as many chats, {args.engine}:")
    print(f"  bare loop, {CONCURRENCY} at a time, no database: {bare['rate']:.0f} msg/s")
    ratio = unpaced["rate"] / bare["rate"]
    print(
        f"  sender, pacing lifted: {unpaced['rate']:.0f} msg/s = {ratio:.2f} of the bare loop "
        f"({unpaced['sent']:.0f} sent in {unpaced['wall']:.1f} s)"
    )
    for rate in args.rates:
        await paced_only(await url_for(f"paced{rate:g}"), rate, args)


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rates", default="25,100", help="comma-separated paced rates")
    parser.add_argument("--engine", choices=("aiogram", "ptb"), default="aiogram")
    parser.add_argument("--sqlite-only", action="store_true")
    add_pg_option(parser)
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    with tempfile.TemporaryDirectory() as tmp:

        async def sqlite_url(name: str) -> str:
            return f"sqlite+aiosqlite:///{tmp}/{name}.db"

        await measure("SQLite", sqlite_url, args)
    if not args.pg or args.sqlite_only:
        print(PG_SKIPPED)
        return
    for_pg: list[str] = []

    async def pg_url(name: str) -> str:
        return for_pg[0]

    # One throwaway database per run: each run starts from an empty outbox.
    async def pg_measure() -> None:
        original = args.rates
        async with temporary_postgres(args.pg) as url:
            for_pg.append(url)
            args.rates = []
            await measure("PostgreSQL", pg_url, args)
        args.rates = original
        for rate in original:
            async with temporary_postgres(args.pg) as url:
                for_pg[0] = url
                args_one = argparse.Namespace(**{**vars(args), "rates": [rate]})
                await paced_only(url, rate, args_one)

    await pg_measure()


async def paced_only(url: str, rate: float, args: argparse.Namespace) -> None:
    """One paced run at `rate` on the database of `url`, and its figures against the goal."""
    count = min(args.messages, int(rate * 8))  # about eight seconds of pacing
    paced = await sender_run(count, rate, args.engine, url)
    share = paced["rate"] / rate
    verdict = "OK" if share >= 0.95 and paced["max_1s"] <= rate else "BELOW GOAL"
    print(
        f"  paced at {rate:g}/s, {count} messages: {paced['rate']:.2f} msg/s = {share:.1%} "
        f"of the rate; most in any 1 s window at the server: {paced['max_1s']:.0f} "
        f"({verdict}: >= 95 % and never above)"
    )


if __name__ == "__main__":
    asyncio.run(main())
