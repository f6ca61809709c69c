"""Finding a day's birthdays among 1,000,000 members: the indexed query against a full scan.

The birthday job asks, per store time zone and day, for members whose birthday_md (month*100 +
day, indexed) matches; the baseline in the same run asks the same question of the birthday
column itself (month and day extracted per row), which no index serves: every row is read.
Both return the same members; the figures are the median of several runs, on SQLite and, when
a server is given, PostgreSQL.

    PYTHONPATH=. python bench/bench_birthdays.py [--members 1000000] [--pg URL]
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Date, Integer, String, cast, extract, func, or_, select, type_coerce

from bench.common import bench_parser, load_rows, median_time, on_sqlite_then_postgres
from bot.bootstrap import App, build_app
from bot.config import Settings
from domain.coupons.rules import birthday_mds
from domain.members.model import Store
from storage.members.repository import birthday_query, member_from_row
from storage.members.tables import members

DAY = date(2027, 2, 28)  # a busy day: not a leap year, so 29 February's birthdays come too
REPEAT = 7
COLUMNS = ("member_no", "name", "birthday", "birthday_md", "home_store_id", "joined_at")


def generate(count: int, store_ids: list[int]) -> list[tuple[Any, ...]]:
    rng = random.Random(42)
    start = date(1940, 1, 1).toordinal()
    joined = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        born = date.fromordinal(start + rng.randrange(365 * 65))
        store = rng.choice(store_ids) if rng.random() < 0.9 else None  # some have no store
        # The birthday column holds text since encryption at rest (storage.protection).
        rows.append(
            (f"B{i:08d}", f"Member {i}", born.isoformat(), born.month * 100 + born.day, store,
             joined + timedelta(minutes=i))
        )
    return rows


async def seed_stores(app: App) -> tuple[list[int], list[int]]:
    async with app.uow_factory() as uow:
        shanghai = [
            (await uow.stores.add(Store(f"SH{n:02d}", f"Shanghai {n}", "Asia/Shanghai"))).id
            for n in range(1, 4)
        ]
        new_york = [(await uow.stores.add(Store("NY01", "New York", "America/New_York"))).id]
        await uow.commit()
    return [i for i in shanghai if i], [i for i in new_york if i]


def scan_query(day: date, store_ids: list[int], unassigned: bool) -> Any:
    """The baseline: the same members, found from the birthday column row by row."""
    days = [md % 100 for md in birthday_mds(day)]
    # The column is text (ISO dates, or ciphertext under a data key): read as a date per row.
    born = func.date(type_coerce(members.c.birthday, String), type_=Date)
    month = extract("month", born)
    day_of = extract("day", born)
    stores = or_(members.c.home_store_id.in_(store_ids), members.c.home_store_id.is_(None))
    if not unassigned:
        stores = members.c.home_store_id.in_(store_ids)
    return (
        select(members)
        .where(cast(month, Integer) == day.month, cast(day_of, Integer).in_(days), stores)
        .order_by(members.c.id)
    )


async def measure(app: App, shanghai: list[int]) -> list[tuple[str, float, float, int]]:
    """(what, indexed seconds, full-scan seconds, members found) for whole members and ids."""
    index_query = birthday_query(birthday_mds(DAY), shanghai, True)
    assert index_query is not None

    async def indexed_ids() -> int:
        async with app.engine.connect() as conn:
            return len(list(await conn.execute(index_query.with_only_columns(members.c.id))))

    async def scanned_ids() -> int:
        query = scan_query(DAY, shanghai, True).with_only_columns(members.c.id)
        async with app.engine.connect() as conn:
            return len(list(await conn.execute(query)))

    async def indexed() -> int:
        async with app.uow_factory() as uow:
            return len(await uow.members.born_on(birthday_mds(DAY), shanghai, True))

    async def scanned() -> int:
        async with app.engine.connect() as conn:
            rows = await conn.execute(scan_query(DAY, shanghai, True))
            return len([member_from_row(row) for row in rows])

    figures = []
    for what, fast_work, slow_work in (
        ("members", indexed, scanned),
        ("ids only", indexed_ids, scanned_ids),
    ):
        fast, found = await median_time(fast_work, REPEAT)
        slow, found_too = await median_time(slow_work, REPEAT)
        if found != found_too:
            raise AssertionError(f"the queries disagree: {found} vs {found_too} members")
        figures.append((what, fast, slow, found))
    return figures


def report(name: str, count: int, figures: list[tuple[str, float, float, int]]) -> None:
    print(f"  {name}: {count:,} members, {figures[0][3]:,} celebrating on {DAY}")
    for what, fast, slow, _found in figures:
        print(
            f"    {what:<9} indexed {fast * 1000:7.1f} ms   full scan {slow * 1000:8.1f} ms"
            f"   ({slow / fast:5.1f}x faster)"
        )


async def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"birthday query for one zone's day, median of {REPEAT} runs")

    async def run_on(label: str, url: str) -> None:
        app = await build_app(Settings(database_url=url))
        try:
            shanghai, new_york = await seed_stores(app)
            rows = generate(args.members, shanghai + new_york)
            await load_rows(url, [("members", COLUMNS, rows)], analyze="ANALYZE members")
            figures = await measure(app, shanghai)
        finally:
            await app.close()
        report(label, args.members, figures)

    await on_sqlite_then_postgres(run_on, args.pg)


if __name__ == "__main__":
    asyncio.run(main())
