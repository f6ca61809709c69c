"""Where the time of `/points` goes: the aiogram path of bench_points.py under cProfile.

    PYTHONPATH=. python bench/profile_points.py [--updates 500] [--pg URL] [--top 25]
    PYTHONPATH=. python bench/profile_points.py --count-sql [--sqlite]   # round trips per update

Seeds the same members as bench_points.py, answers `/points` one update at a time through the
real dispatcher and the stand-in, and prints the functions with the most time of their own and
the most time including what they call. The notes in bench/README.md come from this.
With --count-sql it counts instead what one `/points` asks of the database: statements by their
first words (as SQLAlchemy's listeners see them), and what reaches the database: round trips to
the PostgreSQL server, or trips to aiosqlite's thread.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiosqlite
import asyncpg
from sqlalchemy import event

from bench.bench_points import FIRST_USER, seed, update
from bench.common import add_pg_option, temporary_postgres
from bot.bootstrap import build_app
from bot.config import Settings
from bot.telegram import aiogram as telegram_aiogram
from tests.support.standin import TOKEN, BotApiStandIn
from tests.support.statements import counting


async def profile(url: str, args: argparse.Namespace) -> None:
    async with BotApiStandIn() as standin:
        for i in range(args.members):
            standin.user(FIRST_USER + i, "Bench", language_code="en")
        settings = Settings(database_url=url, bot_token=TOKEN, telegram_api_url=standin.base_url)
        app = await build_app(settings)
        try:
            await seed(app, args.members, args.entries)
            bot, dispatcher = telegram_aiogram.build(app)
            try:
                await bot.me()
                for i in range(args.members):  # warm: every member's summary exists
                    await dispatcher.feed_raw_update(bot, update(FIRST_USER + i, "/points"))
                if args.count_sql:
                    counts = count_sql(app.engine.sync_engine)
                profiler = cProfile.Profile()
                profiler.enable()
                for i in range(args.updates):
                    user = FIRST_USER + i % args.members
                    await dispatcher.feed_raw_update(bot, update(user, "/points"))
                profiler.disable()
            finally:
                await bot.session.close()
        finally:
            await app.close()
    if args.count_sql:
        print(f"per /points, over {args.updates} updates:")
        for what, n in counts.most_common():
            print(f"  {n / args.updates:5.2f}  {what}")
        return
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


def count_sql(sync_engine: Any) -> Counter[str]:
    """Statements (by their first words) and transactions from now on, counted as they go."""
    counts: Counter[str] = Counter()

    def statement(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        words = sql.split()
        head = " ".join(words[:2]) if words[:1] != ["SELECT"] else "SELECT"
        table = next((w for w in words if w.islower() and w.isidentifier()), "")
        if words[:1] == ["SELECT"] and "FROM" in words:
            table = words[words.index("FROM") + 1]
        counts[f"{head} {table}".strip()] += 1

    event.listen(sync_engine, "before_cursor_execute", statement)
    # What reaches the database: on PostgreSQL each is a round trip to the server (a statement
    # with no transaction open is one of its own: no BEGIN, no COMMIT); on SQLite each is a
    # trip to aiosqlite's thread (a commit SQLite has nothing for is skipped before the trip).
    def probe(owner: Any, name: str, label: Any) -> None:
        def seen(args: tuple[Any, ...]) -> None:
            counts.update([label(args) if callable(label) else label])

        setattr(owner, name, counting(getattr(owner, name), seen))

    probe(asyncpg.prepared_stmt.PreparedStatement, "fetch", "  server round trip: statement")
    probe(asyncpg.transaction.Transaction, "start", "  server round trip: BEGIN")
    probe(asyncpg.transaction.Transaction, "commit", "  server round trip: COMMIT")
    probe(asyncpg.transaction.Transaction, "rollback", "  server round trip: ROLLBACK")
    probe(aiosqlite.Connection, "_execute",
          lambda args: f"  trip to SQLite's thread: {getattr(args[0], '__name__', args[0])}")
    return counts


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--entries", type=int, default=40)
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sqlite", action="store_true", help="profile SQLite, not PostgreSQL")
    parser.add_argument("--count-sql", action="store_true",
                        help="count statements and transactions per /points, no profile")
    add_pg_option(parser)
    args = parser.parse_args()
    if args.pg and not args.sqlite:
        async with temporary_postgres(args.pg) as url:
            await profile(url, args)
        return
    with tempfile.TemporaryDirectory() as folder:
        await profile(f"sqlite+aiosqlite:///{folder}/profile.db", args)


if __name__ == "__main__":
    asyncio.run(main())
