"""`retailbot report surveys` over 1,000,000 answers, against baselines on the same table.

The report counts answers with one GROUP BY (store, month, kind, category, score) over the
covering index, and invitations with another (store, month, kind), then does the arithmetic in
Python on a few hundred rows. The baselines in the same run, on the same data:
- the cheapest question of the table: SELECT store_id, COUNT(*) ... GROUP BY store_id;
- reading every answer's (store, month, kind, score) into Python, which is what the report
  would cost if it aggregated outside the database.
Figures are the median of several runs, on SQLite and, when a server is given, PostgreSQL.

    PYTHONPATH=. python bench/bench_report.py [--answers 1000000] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from bench.common import add_pg_option, load_rows, median_time, on_sqlite_then_postgres
from bot.bootstrap import App, build_app
from bot.config import Settings
from domain.members.model import Store
from domain.surveys.services import survey_report
from storage.surveys.tables import survey_answers

REPEAT = 5
STORES = 20
MEMBERS = 100_000
FIRST_DAY = date(2025, 1, 1)
DAYS = 730  # two years: 24 months
PERIOD = (FIRST_DAY, FIRST_DAY + timedelta(days=DAYS - 1))
CATEGORIES = ("purchase", "purchase", "purchase", "quality", "service", "gold-wave")

INVITATION_COLUMNS = (
    "id", "member_id", "survey_key", "kind", "trigger", "trigger_ref", "dedupe_key", "token",
    "store_id", "category", "status", "created_at", "expires_at", "answered_at", "day", "month",
)
ANSWER_COLUMNS = (
    "invitation_id", "member_id", "survey_key", "kind", "score", "trigger", "trigger_ref",
    "category", "store_id", "answered_at", "day", "month",
)
MEMBER_COLUMNS = ("id", "member_no", "name", "joined_at")
TABLES = ("members", "survey_invitations", "survey_answers")
COLUMNS = (MEMBER_COLUMNS, INVITATION_COLUMNS, ANSWER_COLUMNS)


def generate(answers: int, store_ids: list[int]) -> tuple[list[tuple[Any, ...]], ...]:
    """Members, invitations (two per answer: a 50 % response rate) and answers."""
    rng = random.Random(7)
    joined = datetime(2024, 1, 1, tzinfo=UTC)
    member_rows = [(i, f"B{i:07d}", f"Member {i}", joined) for i in range(1, MEMBERS + 1)]
    invitations, answer_rows = [], []
    for i in range(1, answers * 2 + 1):
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC) + timedelta(
            minutes=rng.randrange(600)
        )
        kind = "csat" if rng.random() < 0.6 else "nps"
        store = rng.choice(store_ids)
        member = rng.randrange(1, MEMBERS + 1)
        category = rng.choice(CATEGORIES)
        month = f"{day.year:04d}-{day.month:02d}"
        answered = i % 2 == 0
        invitations.append((
            i, member, kind, kind, "receipt", f"R{i}", f"survey:receipt:R{i}", "abcdef", store,
            category, "answered" if answered else "invited", at, at + timedelta(days=7),
            at + timedelta(hours=1) if answered else None, day, month,
        ))
        if answered:
            score = rng.choice((1, 2, 3, 4, 4, 5, 5, 5)) if kind == "csat" else rng.randrange(11)
            answer_rows.append((
                i, member, kind, kind, score, "receipt", f"R{i}", category, store,
                at + timedelta(hours=1), day, month,
            ))
    return member_rows, invitations, answer_rows


async def seed_stores(app: App) -> list[int]:
    async with app.uow_factory() as uow:
        ids = [
            (await uow.stores.add(Store(f"S{n:02d}", f"门店 {n}", "Asia/Shanghai"))).id
            for n in range(1, STORES + 1)
        ]
        await uow.commit()
    return [i for i in ids if i is not None]


async def measure(app: App) -> list[tuple[str, float, int]]:
    """(what, seconds, answers seen) for the report and the baselines."""

    async def whole_report() -> int:
        async with app.uow_factory() as uow:
            report = await survey_report(uow, app.policy, *PERIOD)
        return report.total.answers

    async def one_store() -> int:
        async with app.uow_factory() as uow:
            report = await survey_report(uow, app.policy, *PERIOD, store_code="S07")
        return report.total.answers

    async def answers_only() -> int:
        async with app.uow_factory() as uow:
            rows = await uow.surveys.answer_counts(*PERIOD)
        return sum(r.count for r in rows)

    async def invitations_only() -> int:
        async with app.uow_factory() as uow:
            rows = await uow.surveys.invitation_counts(*PERIOD)
        return sum(r.answered for r in rows)  # the invitations answered: the answers again

    async def count_by_store() -> int:
        query = select(survey_answers.c.store_id, func.count()).group_by(
            survey_answers.c.store_id
        )
        async with app.engine.connect() as conn:
            return sum(n for _store, n in await conn.execute(query))

    async def read_all() -> int:
        a = survey_answers.c
        counts: Counter[tuple[Any, ...]] = Counter()
        async with app.engine.connect() as conn:
            result = await conn.stream(select(a.store_id, a.month, a.kind, a.score))
            async for part in result.partitions(10_000):
                counts.update(tuple(row) for row in part)
        return sum(counts.values())

    figures = []
    for what, work in (
        ("report, all stores, 24 months", whole_report),
        ("report, one store", one_store),
        ("  of which: answers GROUP BY", answers_only),
        ("  of which: invitations GROUP BY", invitations_only),
        ("baseline: COUNT(*) GROUP BY store", count_by_store),
        ("baseline: read every answer", read_all),
    ):
        seconds, seen = await median_time(work, REPEAT)
        figures.append((what, seconds, seen))
    return figures


def show(name: str, answers: int, load: float, figures: list[tuple[str, float, int]]) -> None:
    print(f"  {name}: {answers:,} answers, {answers * 2:,} invitations (loaded in {load:.0f} s)")
    report = figures[0][1]
    for what, seconds, seen in figures:
        ratio = seconds / report
        print(f"    {what:<36} {seconds * 1000:9.1f} ms  {ratio:5.2f}x the report  "
              f"({seen:,} answers)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    add_pg_option(parser)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"survey report over {PERIOD[0]}..{PERIOD[1]}, median of {REPEAT} runs")

    async def run_on(label: str, url: str) -> None:
        app = await build_app(Settings(database_url=url))
        try:
            stores = await seed_stores(app)
            started = time.perf_counter()
            data = generate(args.answers, stores)
            await load_rows(url, zip(TABLES, COLUMNS, data, strict=True))
            load = time.perf_counter() - started
            figures = await measure(app)
        finally:
            await app.close()
        show(label, args.answers, load, figures)

    await on_sqlite_then_postgres(run_on, args.pg, sqlite=not args.skip_sqlite)


if __name__ == "__main__":
    asyncio.run(main())
