"""What the benchmarks share: a throwaway PostgreSQL database, seeding, timing and figures."""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Table, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.bootstrap import App, build_app
from bot.config import Settings
from domain.members.model import ChatUser, Store
from domain.shared.clock import FixedClock
from domain.staff.model import Role, StaffMember
from handlers.types import Inbound, InboundKind, OutgoingMessage
from storage.engine import create_engine
from storage.members.tables import members


@asynccontextmanager
async def temporary_postgres(base_url: str) -> AsyncIterator[str]:
    """A new database on the server of `base_url`, dropped when the block ends."""
    admin = make_url(base_url).set(drivername="postgresql+asyncpg")
    name = f"rb_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(
        admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


def percentile(samples: list[float], share: float) -> float:
    """The value below which `share` of the samples fall (nearest rank)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def describe(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"p50 {percentile(ms, 0.5):6.2f} ms  p99 {percentile(ms, 0.99):6.2f} ms  "
        f"mean {statistics.fmean(ms):6.2f} ms"
    )


def median(samples: list[float]) -> float:
    return sorted(samples)[len(samples) // 2]


def add_pg_option(parser: argparse.ArgumentParser) -> None:
    """`--pg URL`: also measure on a throwaway database of this PostgreSQL server."""
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"),
                        help="a PostgreSQL server URL (default: TEST_DATABASE_URL)")


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's command line: the first line of its docstring `doc` as description, and
    `--pg` (see `add_pg_option`); the benchmark adds its own options."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    add_pg_option(parser)
    return parser


PG_SKIPPED = "PostgreSQL skipped: pass --pg URL or set TEST_DATABASE_URL"


async def on_sqlite_then_postgres(
    run_on: Callable[[str, str], Awaitable[None]], pg: str | None, sqlite: bool = True
) -> None:
    """`run_on(label, url)` on a throwaway SQLite file (unless `sqlite` is false), then on a
    throwaway PostgreSQL database when a server is given."""
    if sqlite:
        with tempfile.TemporaryDirectory() as folder:
            await run_on("SQLite", f"sqlite+aiosqlite:///{folder}/bench.db")
    if pg:
        async with temporary_postgres(pg) as url:
            await run_on("PostgreSQL", url)
    else:
        print(f"\n({PG_SKIPPED})")


async def timed(runs: int, work: Callable[[], Awaitable[object]]) -> list[float]:
    """The seconds each of `runs` calls of `work` took, after one call to warm caches."""
    await work()  # warm caches and connections
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return samples


async def median_time(work: Callable[[], Awaitable[int]], repeat: int) -> tuple[float, int]:
    """The median seconds of `repeat` calls of `work` (after one to warm caches the same way
    for every query) and what the last call found."""
    found = await work()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        found = await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), found


CHUNK = 1000


async def insert_in_chunks(
    conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Bulk INSERTs of `CHUNK` rows at a time, so no statement outgrows a driver's limits."""
    for start in range(0, len(rows), CHUNK):
        await conn.execute(insert(table), rows[start : start + CHUNK])


DESK_NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
"""The fixed time of the desk benchmarks (/queue, /calls)."""
DESK_AGENT = "900001"
"""The chat id the desk benchmarks' staff member talks from."""


@asynccontextmanager
async def bench_app(url: str, now: datetime, **settings: Any) -> AsyncIterator[App]:
    """The bot on the database of `url` (and `settings`), its clock fixed at `now`, closed when
    the block ends."""
    app = await build_app(Settings(database_url=url, **settings), clock=FixedClock(now))
    try:
        yield app
    finally:
        await app.close()


Seeded = TypeVar("Seeded")


def run_desk_bench(
    doc: str,
    count: str,
    seed: Callable[[App, int, int], Awaitable[Seeded]],
    measure: Callable[[str, App, argparse.Namespace, Seeded, float], Awaitable[None]],
) -> None:
    """A desk benchmark's command line (`--<count>`, `--runs`, `--seed`, `--pg`), then on
    SQLite and on PostgreSQL when a server is given: the bot at `DESK_NOW` on a new database,
    `seed(app, <count>, <seed>)` timed, and `measure(label, app, args, seeded, seconds)` with
    what the seeding returned and how long it took."""
    parser = bench_parser(doc)
    parser.add_argument(f"--{count}", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    async def run_on(label: str, url: str) -> None:
        async with bench_app(url, DESK_NOW) as app:
            started = time.perf_counter()
            seeded = await seed(app, getattr(args, count), args.seed)
            await measure(label, app, args, seeded, time.perf_counter() - started)

    asyncio.run(on_sqlite_then_postgres(run_on, args.pg))


DeskRows = Callable[[list[int], Store, list[StaffMember]], Iterable[dict[str, Any]]]
"""The rows of a desk benchmark's table, given the member ids, the store and the staff."""


async def seed_desk(
    app: App, table: Table, prefix: str, member_count: int, rows: DeskRows
) -> list[StaffMember]:
    """The desk benchmarks' store and staff (see `seed_store_and_desk_staff`, as `DESK_AGENT`),
    `member_count` members (numbers `prefix`000000 on) and `rows(member ids, store, staff)`
    in `table`, all inserted in bulk; returns the staff."""
    store, staff = await seed_store_and_desk_staff(app, DESK_AGENT)
    async with app.engine.begin() as conn:
        ids = await insert_members(conn, prefix, member_count, store, DESK_NOW)
        await insert_in_chunks(conn, table, list(rows(ids, store, staff)))
    return staff


async def seed_store_and_desk_staff(app: App, agent: str) -> tuple[Store, list[StaffMember]]:
    """A Shanghai store and ten desk staff (role agent), the first of whom talks to the bot as
    `agent` in English: the staff side of the desk benchmarks."""
    async with app.uow_factory() as uow:
        store = await uow.stores.add(Store("SH01", "Shanghai", "Asia/Shanghai"))
        staff = [
            await uow.staff.save(StaffMember(str(900_000 + i), Role.AGENT, f"Agent {i}"))
            for i in range(1, 11)
        ]
        await uow.chat_users.save(ChatUser("telegram", agent, agent, telegram_language="en"))
        await uow.commit()
    return store, staff


@dataclass
class DeskFigures:
    """A staff queue command timed through the whole conversation, with its two baselines on
    the same database, and the reply it gave."""

    command: list[float]
    bare: list[float]
    full: list[float]
    reply: OutgoingMessage


async def time_desk_command(
    app: App, command: str, reply_key: str, runs: int, *, shown: Any, every: Any
) -> DeskFigures:
    """`/command` from the agent `seed_desk` seeded (`DESK_AGENT`) against the bare SELECT of
    the rows it shows (`shown`) and the SELECT of every row a queue without its index would read
    and sort (`every`, run a tenth as often)."""
    inbound = Inbound("telegram", DESK_AGENT, DESK_AGENT, InboundKind.COMMAND, command=command,
                      language_code="en")
    replies: list[OutgoingMessage] = []

    async def through_the_conversation() -> object:
        (reply,) = await app.conversation.handle(inbound)
        assert reply.key == reply_key, reply.key
        replies[:] = [reply]
        return reply

    def select_all(query: Any) -> Callable[[], Awaitable[object]]:
        async def run() -> object:
            async with app.engine.connect() as conn:
                return (await conn.execute(query)).all()

        return run

    timings = await timed(runs, through_the_conversation)
    bare = await timed(runs, select_all(shown))
    full = await timed(max(10, runs // 10), select_all(every))
    return DeskFigures(timings, bare, full, replies[0])


def print_desk_figures(figures: DeskFigures, command: str, shown: int, every: str) -> None:
    """The lines of a desk benchmark: `/command` and its baselines, then the two ratios."""
    lines = [
        (f"/{command} (whole conversation)", describe(figures.command)),
        (f"bare SELECT of its {shown} rows", describe(figures.bare)),
        (f"SELECT of every {every}", describe(figures.full)),
        (f"ratio /{command} : bare SELECT",
         f"p50 x{median(figures.command) / median(figures.bare):.1f}"),
        (f"ratio every {every} : /{command}",
         f"p50 x{median(figures.full) / median(figures.command):.1f}"),
    ]
    for label, figure in lines:
        print(f"  {label:<34}{figure}")


async def insert_members(
    conn: AsyncConnection, prefix: str, count: int, store: Store, now: datetime
) -> list[int]:
    """`count` plain members of `store` (numbers `prefix`000000 on), inserted in bulk; returns
    the ids of every member in the database."""
    rows = [
        {
            "member_no": f"{prefix}{i:06d}", "name": f"Member {i}", "phone": f"+86139{i:08d}",
            "tier": "member", "spend_12m_cents": 0, "marketing_consent": False,
            "joined_at": now - timedelta(days=400), "home_store_id": store.id,
        }
        for i in range(count)
    ]
    await insert_in_chunks(conn, members, rows)
    return [row.id for row in await conn.execute(select(members.c.id))]


def _sqlite_value(value: Any) -> Any:
    """A value as the SQLite dialect stores it (dates and times as text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


Rows = Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]
"""(table, columns, rows) to load."""


def sqlite_copy(path: Path, tables: Rows) -> None:
    """Rows straight into a SQLite file through the standard library, then ANALYZE: loading
    a million rows through the ORM would take longer than what is measured."""
    conn = sqlite3.connect(path)
    try:
        for table, columns, rows in tables:
            marks = ", ".join("?" for _ in columns)
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                ([_sqlite_value(v) for v in row] for row in rows),
            )
        conn.commit()
        conn.execute("ANALYZE")
    finally:
        conn.close()


async def postgres_copy(url: str, tables: Rows, analyze: str = "VACUUM ANALYZE") -> None:
    """Rows into PostgreSQL by COPY (asyncpg), then `analyze` so the planner knows the sizes."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        for table, columns, rows in tables:
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        await conn.execute(analyze)
    finally:
        await conn.close()


async def load_rows(url: str, tables: Rows, analyze: str = "VACUUM ANALYZE") -> None:
    """`tables` into the database of `url`, the fastest way its engine offers; `analyze` is the
    statement PostgreSQL runs afterwards (SQLite runs ANALYZE)."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        assert database is not None, url
        await asyncio.to_thread(sqlite_copy, Path(database), tables)
    else:
        await postgres_copy(url, tables, analyze)
