"""/points through the real aiogram dispatcher against a bare echo handler, in the same run.

Both dispatchers answer over HTTP to the Bot API stand-in on 127.0.0.1, so the difference is
what retailbot adds: loading the chat account and member, replaying the ledger, the tier and
expiry arithmetic, saving state and translating. Figures: latency p50/p99 of one update at a
time, and updates per second with many members at once.

    PYTHONPATH=. python bench/bench_points.py [--members 200] [--updates 1000] [--pg URL]
    PYTHONPATH=. python bench/bench_points.py --rounds 3   # echo and /points in turn, 3 times
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message

from bench.common import PG_SKIPPED, add_pg_option, describe, median, temporary_postgres
from bot.bootstrap import App, build_app
from bot.config import Settings
from bot.telegram import aiogram as telegram_aiogram
from domain.loyalty.model import EntryKind, LedgerEntry
from domain.members.model import ChatUser, Member, Store
from tests.support.standin import TOKEN, BotApiStandIn

FIRST_USER = 700_000_000
_update_ids = count(1)


async def seed(app: App, members: int, entries: int) -> None:
    """Linked members, each with `entries` ledger entries over the last year."""
    now = app.clock.now()
    async with app.uow_factory() as uow:
        store = await uow.stores.add(Store("SH01", "Shanghai", "Asia/Shanghai"))
        for i in range(members):
            member = await uow.members.add(
                Member(
                    f"B{i:06d}",
                    f"Member {i}",
                    f"+86138{i:08d}",
                    now - timedelta(days=500),
                    home_store_id=store.id,
                )
            )
            assert member.id is not None
            await uow.ledger.append(
                [
                    LedgerEntry(
                        member.id,
                        EntryKind.EARN,
                        10 + j,
                        f"bench:{i}:{j}",
                        now - timedelta(days=7 * j + 1),
                        expires_at=now + timedelta(days=365 - 7 * j),
                    )
                    for j in range(entries)
                ]
            )
            await uow.chat_users.save(
                ChatUser(
                    "telegram",
                    str(FIRST_USER + i),
                    str(FIRST_USER + i),
                    telegram_language="en",
                    member_id=member.id,
                )
            )
        await uow.commit()


def update(user_id: int, text: str) -> dict[str, Any]:
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": next(_update_ids),
        "message": {
            "message_id": next(_update_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Bench"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Bench", "language_code": "en"},
            "text": text,
            "entities": entities if text.startswith("/") else [],
        },
    }


def echo_dispatcher() -> Dispatcher:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


async def measure(
    bot: Bot, dispatcher: Dispatcher, users: int, updates: int, text: str
) -> tuple[list[float], float, float]:
    """Latencies one at a time, then throughput with `users` members writing at once, and the
    CPU time of this process per update in the throughput phase (less moved by other work on
    the machine than the rates are; the database server's own CPU is not in it)."""
    latencies = []
    for i in range(updates):
        started = time.perf_counter()
        await dispatcher.feed_raw_update(bot, update(FIRST_USER + i % users, text))
        latencies.append(time.perf_counter() - started)

    async def member_session(user: int, n: int) -> None:
        for _ in range(n):
            await dispatcher.feed_raw_update(bot, update(user, text))

    per_user = max(1, updates // users)
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(member_session(FIRST_USER + u, per_user) for u in range(users)))
    throughput = per_user * users / (time.perf_counter() - started)
    return latencies, throughput, (time.process_time() - cpu) / (per_user * users)


async def run_on(label: str, url: str, standin: BotApiStandIn, args: argparse.Namespace) -> None:
    for i in range(args.members):
        standin.user(FIRST_USER + i, "Bench", language_code="en")  # the stand-in knows the chat
    settings = Settings(database_url=url, bot_token=TOKEN, telegram_api_url=standin.base_url)
    app = await build_app(settings)
    try:
        await seed(app, args.members, args.entries)
        bot, dispatcher = telegram_aiogram.build(app)
        echo_bot = telegram_aiogram.build_bot(settings)
        try:
            await bot.me()
            await echo_bot.me()
            # Echo and /points take turns, so each round's ratio compares neighbours in time.
            echo_runs, points_runs = [], []
            for _ in range(args.rounds):
                echo_runs.append(await measure(
                    echo_bot, echo_dispatcher(), args.members, args.updates, "/points"
                ))
                points_runs.append(
                    await measure(bot, dispatcher, args.members, args.updates, "/points")
                )
        finally:
            await bot.session.close()
            await echo_bot.session.close()
        print(
            f"\n{label}: {args.members} members x {args.entries} ledger entries, "
            f"{args.updates} updates"
        )
        ratios = []
        for (base_lat, base_tp, base_cpu), (lat, tp, cpu) in zip(
            echo_runs, points_runs, strict=True
        ):
            print(f"  echo handler  {describe(base_lat)}  {base_tp:7.1f} updates/s  "
                  f"CPU {base_cpu * 1000:.2f} ms/update")
            print(f"  /points       {describe(lat)}  {tp:7.1f} updates/s  "
                  f"CPU {cpu * 1000:.2f} ms/update")
            print(
                f"  ratio /points : echo  p50 x{median(lat) / median(base_lat):.2f}  "
                f"throughput {tp / base_tp:.2f}  CPU x{cpu / base_cpu:.2f}"
            )
            ratios.append(tp / base_tp)
        if len(ratios) > 1:
            print(f"  throughput ratio over {len(ratios)} rounds: median {median(ratios):.2f} "
                  f"({min(ratios):.2f} - {max(ratios):.2f})")
    finally:
        await app.close()



async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--entries", type=int, default=40, help="ledger entries per member")
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1,
                        help="echo and /points measured in turn this many times")
    add_pg_option(parser)
    args = parser.parse_args()
    async with BotApiStandIn() as standin:
        with tempfile.TemporaryDirectory() as folder:
            await run_on("SQLite", f"sqlite+aiosqlite:///{folder}/bench.db", standin, args)
        if args.pg:
            async with temporary_postgres(args.pg) as url:
                await run_on("PostgreSQL", url, standin, args)
        else:
            print(f"\n({PG_SKIPPED})")


if __name__ == "__main__":
    asyncio.run(main())
