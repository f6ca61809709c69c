"""Outbox sender throughput against the Bot API stand-in, as a share of the configured rate.

The goal is at least 95% of the configured rate and never above it in any one-second window
(Telegram counts over short windows). The baseline in the same run is the same sender with
pacing lifted: what the machinery (database, HTTP, framework) could do, so the figures show
that the limiter, not the plumbing, sets the pace.

    PYTHONPATH=. python bench/bench_sender.py [--messages 500] [--rate 25] [--engine aiogram]
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

from bot.bootstrap import build_app, build_messenger, build_sender
from bot.config import Settings
from domain.messaging.model import MessageKind, OutboxMessage
from domain.messaging.policy import DeliveryPolicy
from domain.shared.outbox import queue_message
from domain.shared.policy import Policy
from tests.support.standin import TOKEN, BotApiStandIn

FIRST_CHAT = 800_000


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


async def run(
    messages: int, rate: float, engine: str, folder: Path, label: str
) -> dict[str, float]:
    standin = TimedStandIn()
    await standin.start()
    url = f"sqlite+aiosqlite:///{folder}/{label}.db"
    settings = Settings(
        database_url=url, bot_token=TOKEN, telegram_api_url=standin.base_url, bot_engine=engine
    )
    delivery = DeliveryPolicy(rate_per_second=rate, quiet_start=None, quiet_end=None)
    policy = Policy(delivery=delivery)
    app = await build_app(settings, policy=policy)
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
        sender = build_sender(app, messenger)
        started = time.monotonic()
        stats = await sender.drain(max_seconds=600)
        wall = time.monotonic() - started
    finally:
        await messenger.close()
        await app.close()
        await standin.close()
    times = sorted(standin.arrivals)
    span = times[-1] - times[0]
    return {
        "sent": stats.sent,
        "wall": wall,
        "rate": (len(times) - 1) / span if span > 0 else float("inf"),
        "max_1s": max_in_window(times),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--engine", choices=("aiogram", "ptb"), default="aiogram")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = await run(args.messages, 100_000, args.engine, folder, "unpaced")
        paced = await run(args.messages, args.rate, args.engine, folder, "paced")
    print(f"outbox sender, {args.messages} messages to as many chats, {args.engine}, SQLite")
    print(
        f"  baseline (pacing lifted): {baseline['rate']:.0f} msg/s "
        f"({baseline['wall']:.1f} s): the machinery's ceiling"
    )
    ratio = paced["rate"] / args.rate
    print(
        f"  paced at {args.rate:g}/s: {paced['rate']:.2f} msg/s = {ratio:.1%} of the rate "
        f"({paced['wall']:.1f} s); most in any 1 s window: {paced['max_1s']:.0f} "
        f"(limit {args.rate:g})"
    )
    verdict = "OK" if ratio >= 0.95 and paced["max_1s"] <= args.rate else "BELOW GOAL"
    print(f"  goal >= 95% and never above the rate: {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
