"""How fast `retailbot import transactions` books receipts, against a bare INSERT baseline.

Generates a transactions CSV (100,000 receipts by default, 1 % refunds) and the members it
needs into a temporary directory, imports both with bot.cli.imports into a fresh SQLite file and,
when a PostgreSQL URL is given (--pg or TEST_DATABASE_URL), into a throwaway PostgreSQL
database that is dropped afterwards. The baseline, measured in the same run on the same
database, reads the same CSV and inserts its rows with one executemany into a plain table with
the same columns: no checks, no look-ups, no points. The ratio importer/baseline is the figure
to watch; absolute rates depend on the machine. The processor time of this process per row is
printed beside them: a busy machine disturbs it less than the clock.

The floor, also measured in the same run: every write the import sent (receipts, ledger
entries, tiers, members' statistics; points summaries of members who have one), sent again
with the same parameters to a fresh database holding the same members, in one transaction,
nothing read or computed. The import cannot be faster than its own writes: floor/baseline is
the most an importer sending the same writes could reach, importer/floor how much of the time
is the import's own work.

    PYTHONPATH=. python bench/bench_import.py [--rows N] [--members M] [--refund-every N]
                                              [--pg URL] [--no-pg]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, Numeric, String, Table, event, insert

from bench.common import PG_SKIPPED, add_pg_option, temporary_postgres
from bot.bootstrap import App, build_app
from bot.cli.imports import import_file, write_csv
from bot.config import Settings
from domain.members.model import Store
from domain.shared.clock import FixedClock

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
BASELINE_RUNS = 3
STORES = (Store("SH01", "Shanghai", "Asia/Shanghai"), Store("UR01", "Urumqi", "Asia/Urumqi"))

baseline_metadata = MetaData()
baseline = Table(
    "bench_baseline",
    baseline_metadata,
    Column("receipt_no", String(64)),
    Column("store_code", String(32)),
    Column("member_no", String(32)),
    Column("phone", String(20)),
    Column("occurred_at", String(40)),
    Column("amount", Numeric(12, 2)),
    Column("currency", String(3)),
    Column("original_receipt_no", String(64)),
)


@dataclass
class Figures:
    database: str
    members: int
    members_seconds: float
    rows: int
    importer_seconds: float
    baseline_seconds: float
    rejected: int
    # Processor time of this process (both threads on SQLite: aiosqlite's runs the statements),
    # which a busy machine disturbs less than the clock; PostgreSQL's own work is not in it.
    importer_cpu: float = 0.0
    baseline_cpu: float = 0.0
    # The floor: the import's writes alone, sent again to a fresh database (floor_insert).
    floor_seconds: float = 0.0
    floor_cpu: float = 0.0

    @property
    def importer_rate(self) -> float:
        return self.rows / self.importer_seconds

    @property
    def baseline_rate(self) -> float:
        return self.rows / self.baseline_seconds

    @property
    def floor_rate(self) -> float:
        return self.rows / self.floor_seconds


# --- the files -----------------------------------------------------------------------------


def member_rows(count: int) -> Iterator[dict[str, str]]:
    for index in range(1, count + 1):
        yield {
            "member_no": f"B{index:07d}",
            "name": f"Bench Member {index}",
            "phone": f"139{index:08d}",  # 139 is a mobile prefix: every such number is valid
            "birthday": "1990-05-17" if index % 3 else "",
            "store_code": STORES[index % 2].code,
            "joined_at": "2024-01-01",
            "marketing_consent": "yes" if index % 2 else "no",
        }


def transaction_rows(
    count: int, members: int, seed: int, refund_every: int
) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    start = NOW - timedelta(days=360)
    sales: list[tuple[str, str, str, Decimal]] = []
    for index in range(1, count + 1):
        if sales and refund_every and index % refund_every == 0:  # refund an earlier sale
            # Refunded once and in full: swap the sale out of the list so it is not picked again.
            pick = rng.randrange(len(sales))
            sales[pick], sales[-1] = sales[-1], sales[pick]
            number, store, member, amount = sales.pop()
            when = NOW - timedelta(hours=1)
            yield {
                "receipt_no": f"R{index:08d}",
                "store_code": store,
                "member_no": member,
                "phone": "",
                "occurred_at": when.replace(tzinfo=None).isoformat(timespec="seconds"),
                "amount": f"{-amount:.2f}",
                "currency": "CNY",
                "original_receipt_no": number,
            }
            continue
        member = f"B{rng.randint(1, members):07d}"
        store = STORES[rng.randrange(2)].code
        when = start + timedelta(seconds=rng.randrange(355 * 86400))
        amount = Decimal(rng.randint(100, 50000)) / 100
        number = f"S{index:08d}"
        sales.append((number, store, member, amount))
        yield {
            "receipt_no": number,
            "store_code": store,
            "member_no": member,
            "phone": "",
            "occurred_at": when.replace(tzinfo=None).isoformat(timespec="seconds"),
            "amount": f"{amount:.2f}",
            "currency": "CNY",
            "original_receipt_no": "",
        }


def write_files(folder: Path, rows: int, members: int, refund_every: int) -> tuple[Path, Path]:
    members_csv = folder / "members.csv"
    transactions_csv = folder / "transactions.csv"
    with members_csv.open("w", encoding="utf-8", newline="") as handle:
        write_csv(handle, "members", member_rows(members))
    with transactions_csv.open("w", encoding="utf-8", newline="") as handle:
        write_csv(
            handle, "transactions", transaction_rows(rows, members, 7, refund_every)
        )
    return members_csv, transactions_csv


# --- one database --------------------------------------------------------------------------


async def measure(
    url: str, floor_url: str, label: str, members_csv: Path, transactions_csv: Path
) -> Figures:
    app = await _with_members(url)
    try:
        started = time.perf_counter()
        people = await import_file(app, "members", members_csv, strict=False, progress=True)
        members_seconds = time.perf_counter() - started
        _check(people.failed, people.report())

        with _Writes(app) as writes:
            started, cpu = time.perf_counter(), time.process_time()
            booked = await import_file(
                app, "transactions", transactions_csv, strict=False, progress=True
            )
            importer_seconds = time.perf_counter() - started
            importer_cpu = time.process_time() - cpu
        _check(booked.failed, booked.report())

        baseline_seconds, baseline_cpu, rows = await bare_insert(app, transactions_csv)
        floor_seconds, floor_cpu = await floor_insert(writes, floor_url, members_csv)
        return Figures(
            label, people.inserted, members_seconds, rows, importer_seconds, baseline_seconds,
            len(booked.rejected), importer_cpu, baseline_cpu, floor_seconds, floor_cpu,
        )
    finally:
        await app.close()


async def _with_members(url: str, members_csv: Path | None = None) -> App:
    """The app on a fresh database with the bench's stores (and, given a CSV, its members)."""
    app = await build_app(Settings(database_url=url), clock=FixedClock(NOW))
    async with app.uow_factory() as uow:
        for store in STORES:
            await uow.stores.add(store)
        await uow.commit()
    if members_csv is not None:
        people = await import_file(app, "members", members_csv, strict=False, progress=False)
        _check(people.failed, people.report())
    return app


class _Writes:
    """Every INSERT, UPDATE and DELETE an engine sends while the block runs, with its
    parameters, as the driver gets them."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.engine = app.engine.sync_engine
        self.statements: list[tuple[str, Any]] = []

    def __enter__(self) -> _Writes:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.statements.append((statement, parameters))


async def floor_insert(writes: _Writes, floor_url: str, members_csv: Path) -> tuple[float, float]:
    """The import's writes alone: every INSERT, UPDATE and DELETE it sent (receipts, ledger
    entries, tiers, members' statistics; summaries of members who have one), as it sent them,
    again in one transaction to a fresh database holding the same stores and members, with the
    import's page cache. Nothing is read, checked or computed: no import that sends these
    writes can be faster on that database."""
    floor = await _with_members(floor_url, members_csv)
    try:
        _check(
            await _contents(floor, "id, member_no FROM members")
            != await _contents(writes.app, "id, member_no FROM members"),
            "the floor's members have other ids than the import's",
        )
        async with floor.uow_factory() as uow:
            await uow.for_bulk_writes(None)
            conn = uow.connection
            started, cpu = time.perf_counter(), time.process_time()
            for statement, parameters in writes.statements:
                await conn.exec_driver_sql(statement, parameters)
            await uow.commit()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        for table in _FLOOR_COMPARED:
            _check(
                await _contents(floor, f"count(*) FROM {table}")
                != await _contents(writes.app, f"count(*) FROM {table}"),
                f"the floor wrote other {table} than the import",
            )
        return seconds, cpu
    finally:
        await floor.close()


_FLOOR_COMPARED = ("receipts", "points_ledger", "points_summaries", "member_stats")


async def _contents(app: App, query: str) -> list[tuple[Any, ...]]:
    async with app.engine.connect() as conn:
        return sorted(tuple(row) for row in await conn.exec_driver_sql(f"SELECT {query}"))


async def bare_insert(app: App, transactions_csv: Path) -> tuple[float, float, int]:
    """Read the same CSV and insert every row with one executemany, in one transaction.

    Best of BASELINE_RUNS into a fresh table: the baseline is short, so one run is at the
    mercy of whatever else the machine does; the importer run is long enough to average out.
    """
    best = best_cpu = float("inf")
    rows = 0
    for _ in range(BASELINE_RUNS):
        async with app.engine.begin() as conn:
            await conn.run_sync(baseline_metadata.drop_all)
            await conn.run_sync(baseline_metadata.create_all)
        cpu = time.process_time()
        seconds, rows = await _bare_insert_once(app, transactions_csv)
        best, best_cpu = min(best, seconds), min(best_cpu, time.process_time() - cpu)
    return best, best_cpu, rows


async def _bare_insert_once(app: App, transactions_csv: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with transactions_csv.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [
            {
                **row,
                "amount": Decimal(row["amount"]),
                "original_receipt_no": row["original_receipt_no"] or None,
            }
            for row in reader
        ]
    async with app.engine.begin() as conn:
        await conn.execute(insert(baseline), rows)
    return time.perf_counter() - started, len(rows)


def _check(failed: bool, report: str) -> None:
    if failed:
        raise SystemExit(f"the import failed, so there is nothing to measure:\n{report}")


async def with_postgres(base_url: str, members_csv: Path, transactions_csv: Path) -> Figures:
    """Measure in throwaway databases next to `base_url` (the import's, the floor's), dropped
    afterwards."""
    async with temporary_postgres(base_url) as url, temporary_postgres(base_url) as floor_url:
        return await measure(url, floor_url, "postgresql", members_csv, transactions_csv)


# --- the run -------------------------------------------------------------------------------


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="receipts (100,000)")
    parser.add_argument("--members", type=int, default=0, help="members (rows / 10)")
    add_pg_option(parser)
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument(
        "--refund-every", type=int, default=100, help="one refund per N rows (100; 0: none)"
    )
    args = parser.parse_args(argv)
    members = args.members or max(1, args.rows // 10)

    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="retailbot-bench-") as folder:
        started = time.perf_counter()
        members_csv, transactions_csv = write_files(
            Path(folder), args.rows, members, args.refund_every
        )
        print(
            f"generated {args.rows:,} receipts for {members:,} members in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        sqlite_url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        floor_url = f"sqlite+aiosqlite:///{Path(folder) / 'floor.db'}"
        results.append(
            await measure(sqlite_url, floor_url, "sqlite", members_csv, transactions_csv)
        )
        if args.pg and not args.no_pg:
            results.append(await with_postgres(args.pg, members_csv, transactions_csv))
        else:
            print(PG_SKIPPED, file=sys.stderr)

    print()
    refunds = f"1 in {args.refund_every} a refund" if args.refund_every else "no refunds"
    print(f"import of {args.rows:,} receipts ({refunds}) for {members:,} members")
    print(
        f"{'database':<11} {'members/s':>10} {'importer rows/s':>16} {'baseline rows/s':>16} "
        f"{'importer/baseline':>18} {'cpu µs/row imp/base':>20} {'cpu ratio':>10}"
    )
    for r in results:
        per_row = f"{r.importer_cpu / r.rows * 1e6:.0f} / {r.baseline_cpu / r.rows * 1e6:.0f}"
        print(
            f"{r.database:<11} {r.members / r.members_seconds:>10,.0f} "
            f"{r.importer_rate:>16,.0f} {r.baseline_rate:>16,.0f} "
            f"{r.importer_rate / r.baseline_rate:>18.2f} {per_row:>20} "
            f"{r.baseline_cpu / r.importer_cpu:>10.2f}"
        )
        print(
            f"{'':<11} floor (the import's writes alone, sent again): "
            f"{r.floor_rate:,.0f} rows/s, {r.floor_rate / r.baseline_rate:.2f} of the baseline;"
            f" the importer is {r.importer_rate / r.floor_rate:.2f} of the floor "
            f"(cpu µs/row {r.floor_cpu / r.rows * 1e6:.0f})"
        )
        if r.rejected:
            print(f"  ({r.rejected} rows rejected: the generator is wrong)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
