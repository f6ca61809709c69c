"""The nightly segments refresh at a chain's size, against a pandas pipeline on the same data.

    PYTHONPATH=. python bench/bench_segments.py                    # 100,000 members, 2,000,000
                                                                   # receipts; SQLite, and
                                                                   # PostgreSQL with --pg URL or
                                                                   # TEST_DATABASE_URL
    PYTHONPATH=. python bench/bench_segments.py --chain            # 1,000,000 / 20,000,000
    PYTHONPATH=. python bench/bench_segments.py --members 20000 --receipts 400000 --no-sqlite

What it measures, on one database after loading members and receipts in bulk:
- the first refresh, which builds every member's purchase statistics from the receipts (once in
  a database's life: afterwards the booking path keeps them current);
- the nightly refresh a day later (what the job does every night): move the window, read the
  statistics, score RFM, segments, lifecycle, fit BG/NBD and score P(alive) and expected
  purchases, write every member's row back; with the time of each step;
- the baseline: a pandas pipeline that reads the same receipts from the same database and
  computes the same R, F and M scores (checked equal to the refresh's, member by member);
- the BG/NBD fit alone on the members' (x, t_x, T).
Needs pandas (`pip install -e ".[bench]"`); pandas is not a dependency of the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import numpy as np
import pandas as pd
import sqlalchemy
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.common import temporary_postgres
from bot.bootstrap import App, build_app
from bot.config import Settings
from domain.members.model import Store
from domain.segments.churn import fit_bgnbd
from domain.shared.clock import FixedClock
from scheduler.jobs.segments import RefreshTimings, refresh_segments
from storage.segments.tables import member_segments

NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
HISTORY_DAYS = 730  # two years of receipts; the RFM window is the last 365 days
STORES = 20
REFUND_SHARE = 0.01


def generate(members: int, receipts: int, seed: int = 11) -> tuple[list[tuple[Any, ...]], ...]:
    """Members and receipts of a believable chain: shoppers start on a random day, shop at a
    rate that varies a lot between them, and stop after a while; one receipt in a hundred is a
    refund of part of an earlier one of the same member."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, HISTORY_DAYS, members)
    life = rng.exponential(400, members)
    end = np.minimum(start + life, HISTORY_DAYS)
    weight = rng.gamma(0.8, 1.0, members) * np.maximum(end - start, 1.0)
    counts = rng.multinomial(receipts, weight / weight.sum())
    owner = np.repeat(np.arange(members), counts)
    day = start[owner] + rng.uniform(0, 1, owner.size) * (end[owner] - start[owner])
    first_day = NOW - timedelta(days=HISTORY_DAYS)
    moments = day * 86_400.0
    order = np.argsort(moments, kind="stable")  # receipts in time order, as a till writes them
    owner, seconds = owner[order], moments[order]
    amounts = np.round(rng.lognormal(4.3, 0.8, owner.size) * 100).astype(np.int64) + 100
    stores = rng.integers(1, STORES + 1, owner.size)
    member_rows = [(i + 1, f"M{i + 1:08d}", f"Member {i + 1}", first_day) for i in range(members)]
    last_sale: dict[int, int] = {}
    receipt_rows: list[tuple[Any, ...]] = []
    refund_draw = rng.uniform(0, 1, owner.size)
    for i in range(owner.size):
        member = int(owner[i]) + 1
        at = first_day + timedelta(seconds=float(seconds[i]))
        earlier = last_sale.get(member)
        if refund_draw[i] < REFUND_SHARE and earlier is not None:
            original = receipt_rows[earlier]
            receipt_rows.append((
                i + 1, f"R{i + 1}", original[2], member, at, -(original[5] // 2), "CNY",
                original[1], 0,
            ))
            continue
        receipt_rows.append((
            i + 1, f"R{i + 1}", int(stores[i]), member, at, int(amounts[i]), "CNY", None, 0,
        ))
        last_sale[member] = i
    return member_rows, receipt_rows


MEMBER_COLUMNS = ("id", "member_no", "name", "joined_at")
RECEIPT_COLUMNS = (
    "id", "receipt_no", "store_id", "member_id", "occurred_at", "amount_cents", "currency",
    "original_receipt_no", "points",
)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(path: Path, data: tuple[list[tuple[Any, ...]], ...]) -> None:
    conn = sqlite3.connect(path)
    for table, columns, rows in zip(
        ("members", "receipts"), (MEMBER_COLUMNS, RECEIPT_COLUMNS), data, strict=True
    ):
        marks = ", ".join("?" for _ in columns)
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            ([_sqlite_value(v) for v in row] for row in rows),
        )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


async def load_postgres(url: str, data: tuple[list[tuple[Any, ...]], ...]) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        for table, columns, rows in zip(
            ("members", "receipts"), (MEMBER_COLUMNS, RECEIPT_COLUMNS), data, strict=True
        ):
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def seed_stores(app: App) -> None:
    async with app.uow_factory() as uow:
        for n in range(1, STORES + 1):
            await uow.stores.add(Store(f"S{n:02d}", f"Store {n}", "Asia/Shanghai"))
        await uow.commit()


# -- the baseline ------------------------------------------------------------------------------


def pandas_rfm(sync_url: str, now: datetime, window_days: int) -> tuple[pd.DataFrame, float]:
    """R, F and M by quintiles (the refresh's rule: 1 + floor(5 × strictly-worse / n)) from
    every receipt, read with pandas from the same database; (scores, seconds reading)."""
    engine = sqlalchemy.create_engine(sync_url)
    started = time.perf_counter()
    with engine.connect() as conn:
        frame = pd.read_sql_query(
            "SELECT member_id, occurred_at, amount_cents FROM receipts", conn
        )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True, format="ISO8601")
    reading = time.perf_counter() - started
    engine.dispose()
    now_ts = pd.Timestamp(now)
    start = now_ts - pd.Timedelta(days=window_days)
    sale = frame["amount_cents"] > 0
    last = frame[sale].groupby("member_id")["occurred_at"].max()
    window = frame[frame["occurred_at"] >= start]
    w_sales = window[window["amount_cents"] > 0].groupby("member_id").size()
    w_spend = window.groupby("member_id")["amount_cents"].sum()
    table = pd.DataFrame({"frequency": w_sales}).join(w_spend.rename("monetary"))
    table = table.join(last.rename("last"))
    table = table[table["frequency"] > 0]
    table["recency"] = ((now_ts - table["last"]).dt.total_seconds() // 86_400).astype("int64")
    n = len(table)
    table["r"] = 1 + (5 * (n - table["recency"].rank(method="max").astype("int64"))) // n
    table["f"] = 1 + (5 * (table["frequency"].rank(method="min").astype("int64") - 1)) // n
    table["m"] = 1 + (5 * (table["monetary"].rank(method="min").astype("int64") - 1)) // n
    return table[["r", "f", "m"]], reading


async def stored_scores(app: App) -> pd.DataFrame:
    c = member_segments.c
    async with app.engine.connect() as conn:
        rows = (await conn.execute(select(c.member_id, c.r, c.f, c.m).where(c.r.is_not(None))))
        found = pd.DataFrame(list(rows), columns=["member_id", "r", "f", "m"])
    return found.set_index("member_id").sort_index()


# -- one database -----------------------------------------------------------------------------


async def run(name: str, url: str, sync_url: str, members: int, receipts: int,
              data: tuple[list[tuple[Any, ...]], ...], load: Any) -> None:
    clock = FixedClock(NOW)
    app = await build_app(Settings(database_url=url), clock=clock)
    try:
        await seed_stores(app)
        started = time.perf_counter()
        await load(data)
        print(f"[{name}] loaded {members:,} members, {receipts:,} receipts in "
              f"{time.perf_counter() - started:.0f} s")

        first = RefreshTimings()
        started = time.perf_counter()
        plan = await refresh_segments(app.uow_factory, app.policy, NOW, timings=first)
        first_total = time.perf_counter() - started
        print(f"[{name}] first refresh (statistics built from every receipt): {first_total:.1f} s"
              f" (building {first.window:.1f} s); model {plan.record.model}")

        later = NOW + timedelta(days=1)
        clock.set(later)
        nightly = RefreshTimings()
        started = time.perf_counter()
        plan = await refresh_segments(app.uow_factory, app.policy, later, timings=nightly)
        nightly_total = time.perf_counter() - started
        record = plan.record

        baseline_started = time.perf_counter()
        scores, reading = pandas_rfm(sync_url, later, app.policy.segments.window_days)
        baseline = time.perf_counter() - baseline_started
        ours = await stored_scores(app)
        same = ours.equals(scores.astype("int64").sort_index().astype(ours.dtypes.to_dict()))

        print(f"[{name}] nightly refresh: {nightly_total:.1f} s = window {nightly.window:.1f} s"
              f" + reading statistics {nightly.load:.1f} s + computing {nightly.compute:.1f} s"
              f" + writing {nightly.write:.1f} s, of which recording {plan.events:,} events and "
              f"their subscribers' work {nightly.events:.1f} s ({record.members:,} members, "
              f"{record.scored:,} scored, model {record.model})")
        print(f"[{name}] pandas RFM baseline: {baseline:.1f} s (reading receipts {reading:.1f} s)"
              f"; scores equal to the refresh's: {same}")
        print(f"[{name}] refresh / pandas: {nightly_total / baseline:.2f} "
              f"({baseline / nightly_total:.1f}x faster)" if nightly_total < baseline else
              f"[{name}] refresh / pandas: {nightly_total / baseline:.2f} (slower)")
    finally:
        await app.close()


def simulate_bgnbd(members: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) in days of members drawn from the BG/NBD story (r 0.25, alpha 28 days,
    a 0.8, b 2.5: CDNOW's fit, in days), watched for half a year to two years."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.25, 1 / 28, members)
    leave = rng.beta(0.8, 2.5, members)
    ages = rng.uniform(180, 730, members).round()
    x = np.zeros(members)
    t_x = np.zeros(members)
    clock = np.zeros(members)
    watching = np.ones(members, dtype=bool)
    for _ in range(5_000):  # bounded: nobody buys this often in two years
        if not watching.any():
            break
        idx = np.flatnonzero(watching)
        clock[idx] += rng.exponential(1 / rate[idx])
        past = clock[idx] > ages[idx]
        watching[idx[past]] = False
        bought = idx[~past]
        x[bought] += 1
        t_x[bought] = clock[bought]
        watching[bought[rng.uniform(0, 1, bought.size) < leave[bought]]] = False
    return x, np.round(t_x), ages


def fit_timing(members: int) -> None:
    """BG/NBD fit on `members` simulated members, against one evaluation of the
    log-likelihood over all of them (the fit's unit of work)."""
    from domain.segments.churn import log_likelihood

    x, t_x, ages = simulate_bgnbd(members)
    started = time.perf_counter()
    fit = fit_bgnbd(x, t_x, ages)
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    log_likelihood(fit.r, fit.alpha, fit.a, fit.b, x, t_x, ages)
    once = time.perf_counter() - started
    print(f"[fit] BG/NBD on {members:,} members: {fitted:.2f} s (converged {fit.converged}; "
          f"r {fit.r:.3f}, alpha {fit.alpha:.1f}, a {fit.a:.2f}, b {fit.b:.2f} against 0.25, "
          f"28, 0.8, 2.5); one log-likelihood over every member: {once * 1000:.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--receipts", type=int, default=2_000_000)
    parser.add_argument("--chain", action="store_true", help="1,000,000 members, 20,000,000 "
                        "receipts")
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--fit-only", action="store_true", help="only the BG/NBD fit timing")
    args = parser.parse_args()
    members, receipts = (1_000_000, 20_000_000) if args.chain else (args.members, args.receipts)

    fit_timing(100_000)
    if args.fit_only:
        return
    started = time.perf_counter()
    data = generate(members, receipts)
    print(f"generated {members:,} members and {len(data[1]):,} receipts in "
          f"{time.perf_counter() - started:.0f} s")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"

            async def load_lite(rows: Any) -> None:
                await asyncio.to_thread(load_sqlite, path, rows)

            await run("SQLite", f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}", members,
                      receipts, data, load_lite)
    if args.pg:
        async with temporary_postgres(args.pg) as url:

            async def load_pg(rows: Any) -> None:
                await load_postgres(url, rows)

            sync_url = make_url(url).set(drivername="postgresql+psycopg").render_as_string(
                hide_password=False
            )
            await run("PostgreSQL", url, sync_url, members, receipts, data, load_pg)


if __name__ == "__main__":
    asyncio.run(main())
