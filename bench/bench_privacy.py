"""What encryption at rest costs: /points, the members and receipts import, and today's
birthdays, each measured with RETAILBOT_DATA_KEY set and, as the baseline in the same run, on
the same data without a key.

- /points: linked members with a year of ledger entries send /points through the conversation
  (who is talking, the member row decrypted, the points summary translated), one after another;
  p50, p99 and updates per second.
- the import: a members CSV, then a receipts CSV whose rows name the member by phone (so every
  row is an encrypted look-up); rows per second of each.
- birthdays: the birthday job's query (members born today in the chain's stores), full rows
  decrypted; the median of several runs after a warm-up.
- every name: what the staff's /member search by a misspelled name reads (every member's
  name, decrypted one by one): the worst case of the layer.

    PYTHONPATH=. python bench/bench_privacy.py [--members 10000] [--points 2000] [--pg URL]

Plain and encrypted are measured alternately (imports in alternate rounds on fresh databases,
the best round counting; every /points request and birthday query alternately on the two), so
the load of a shared machine falls on both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    PG_SKIPPED,
    add_pg_option,
    bench_app,
    median,
    percentile,
    temporary_postgres,
)
from bot.bootstrap import App, build_app
from bot.cli.imports import import_file
from bot.config import Settings
from domain.loyalty.model import EntryKind, LedgerEntry
from domain.members.model import ChatUser
from domain.shared.clock import FixedClock
from handlers.types import Inbound, InboundKind
from storage.protection import install, new_key_text

NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
LINKED = 200  # members who send /points
ENTRIES = 40  # ledger entries each
BIRTHDAY_RUNS = 21
IMPORT_ROUNDS = 3  # the imports alternate plain and encrypted rounds; the best counts
MEMBERS_HEADER = "member_no,name,phone,birthday,store_code,joined_at,marketing_consent"
RECEIPTS_HEADER = (
    "receipt_no,store_code,member_no,phone,occurred_at,amount,currency,original_receipt_no"
)
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


@dataclass
class Figures:
    points_p50: float
    points_p99: float
    points_rate: float
    members_rate: float
    receipts_rate: float
    birthdays_ms: float
    birthdays_found: int
    names_ms: float


def write_files(folder: Path, members: int, receipts: int) -> tuple[Path, Path]:
    rng = random.Random(7)
    member_lines = [MEMBERS_HEADER]
    for i in range(members):
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        member_lines.append(
            f"P{i:07d},{name},139{i:08d},{born.isoformat()},SH01,2024-01-01,"
            f"{'yes' if i % 3 else 'no'}"
        )
    receipt_lines = [RECEIPTS_HEADER]
    for i in range(receipts):
        who = rng.randrange(members)
        day = (NOW - timedelta(days=rng.randrange(300))).date()
        receipt_lines.append(
            f"B{i:08d},SH01,,139{who:08d},{day.isoformat()} 10:00,{rng.randrange(5, 500)}.00,CNY,"
        )
    members_csv, receipts_csv = folder / "members.csv", folder / "receipts.csv"
    members_csv.write_text("\n".join(member_lines) + "\n", encoding="utf-8")
    receipts_csv.write_text("\n".join(receipt_lines) + "\n", encoding="utf-8")
    return members_csv, receipts_csv


async def seed_stores(app: App) -> None:
    from domain.members.model import Store

    async with app.uow_factory() as uow:
        await uow.stores.add(Store("SH01", "Shanghai People's Square", "Asia/Shanghai"))
        await uow.commit()


async def link_members(app: App, count: int) -> list[str]:
    """Link `count` members to Telegram chats and give each ENTRIES ledger entries."""
    users = []
    async with app.uow_factory() as uow:
        for i in range(count):
            member = await uow.members.get_by_member_no(f"P{i:07d}")
            assert member is not None and member.id is not None
            user = str(900000 + i)
            await uow.chat_users.save(ChatUser("telegram", user, user, language="zh",
                                               member_id=member.id))
            await uow.ledger.append([
                LedgerEntry(member.id, EntryKind.EARN, 10, f"bench:{i}:{n}",
                            NOW - timedelta(days=n * 7), expires_at=NOW + timedelta(days=200))
                for n in range(ENTRIES)
            ])
            users.append(user)
        await uow.commit()
    return users


async def import_rates(url: str, key: str | None, folder: Path) -> tuple[float, float]:
    """Rows per second of the members file, then of the receipts file, into a fresh database."""
    async with bench_app(url, NOW, data_key=key) as app:
        await seed_stores(app)
        started = time.perf_counter()
        summary = await import_file(app, "members", folder / "members.csv", strict=False,
                                    progress=False)
        members_rate = summary.inserted / (time.perf_counter() - started)
        started = time.perf_counter()
        booked = await import_file(app, "transactions", folder / "receipts.csv", strict=False,
                                   progress=False)
        return members_rate, booked.inserted / (time.perf_counter() - started)


async def points_sample(app: App, user: str) -> float:
    inbound = Inbound("telegram", user, user, InboundKind.COMMAND, command="points",
                      language_code="zh")
    t0 = time.perf_counter()
    replies = await app.conversation.handle(inbound)
    elapsed = time.perf_counter() - t0
    assert replies and replies[0].key == "points.summary", replies[0].key
    return elapsed


async def timed(step: Callable[[], Awaitable[object]]) -> float:
    t0 = time.perf_counter()
    await step()
    return time.perf_counter() - t0


async def measure(urls: Callable[[str], str], folder: Path, requests: int) -> tuple[
    Figures, Figures
]:
    """Plain and encrypted, alternating so that whatever else the machine does falls on both:
    the imports in alternate rounds on fresh databases (the best round counts), then every
    read request alternately on the two databases of the first round."""
    key = new_key_text()
    rates: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for round_no in range(IMPORT_ROUNDS):
        for sealed in (False, True):
            rates[sealed].append(await import_rates(
                urls(f"{'sealed' if sealed else 'plain'}{round_no}"),
                key if sealed else None, folder,
            ))
    # The plain app is built first: building the sealed one installs the key, and reading
    # values written in the clear with a key installed costs nothing extra (see
    # storage.protection), so both answer in the same process.
    plain_app = await build_app(Settings(database_url=urls("plain0")), clock=FixedClock(NOW))
    sealed_app = await build_app(Settings(database_url=urls("sealed0"), data_key=key),
                                 clock=FixedClock(NOW))
    try:
        apps = {False: plain_app, True: sealed_app}
        users = {sealed: await link_members(app, LINKED) for sealed, app in apps.items()}
        samples: dict[bool, list[float]] = {False: [], True: []}
        totals = {False: 0.0, True: 0.0}
        for n in range(requests):
            for sealed in ((False, True) if n % 2 else (True, False)):
                took = await points_sample(apps[sealed], users[sealed][n % LINKED])
                samples[sealed].append(took)
                totals[sealed] += took
        birthdays: dict[bool, list[float]] = {False: [], True: []}
        names: dict[bool, list[float]] = {False: [], True: []}
        found = 0
        for run in range(BIRTHDAY_RUNS + 1):
            for sealed, app in apps.items():
                async with app.uow_factory() as uow:
                    store = await uow.stores.get_by_code("SH01")
                    assert store is not None and store.id is not None
                    store_id = store.id

                    async def born(uow: object = uow, store_id: int = store_id) -> None:
                        nonlocal found
                        found = len(await uow.members.born_on(  # type: ignore[attr-defined]
                            [615], [store_id], True))

                    took = await timed(born)
                    if run:  # the first round warms the caches
                        birthdays[sealed].append(took)
                    if run % 4 == 1:
                        names[sealed].append(await timed(uow.members.names))
    finally:
        await sealed_app.close()
        await plain_app.close()
        install(None)

    def figures(sealed: bool) -> Figures:
        best = max(rates[sealed], key=lambda pair: pair[0] + pair[1])
        return Figures(
            percentile(samples[sealed], 0.5) * 1000, percentile(samples[sealed], 0.99) * 1000,
            requests / totals[sealed], best[0], best[1], median(birthdays[sealed]) * 1000,
            found, median(names[sealed]) * 1000,
        )

    return figures(False), figures(True)


def report(where: str, plain: Figures, sealed: Figures) -> None:
    def ratio(a: float, b: float) -> str:
        return f"x{a / b:.2f}" if b else "-"

    print(f"\n{where}: encrypted (RETAILBOT_DATA_KEY set) against the same run without a key")
    print(f"  /points p50      {sealed.points_p50:7.2f} ms vs {plain.points_p50:7.2f} ms  "
          f"{ratio(sealed.points_p50, plain.points_p50)}")
    print(f"  /points p99      {sealed.points_p99:7.2f} ms vs {plain.points_p99:7.2f} ms  "
          f"{ratio(sealed.points_p99, plain.points_p99)}")
    print(f"  /points rate     {sealed.points_rate:7.1f} /s vs {plain.points_rate:7.1f} /s  "
          f"{ratio(sealed.points_rate, plain.points_rate)}")
    print(f"  members import   {sealed.members_rate:7.0f} rows/s vs {plain.members_rate:7.0f}  "
          f"{ratio(sealed.members_rate, plain.members_rate)}")
    print(f"  receipts import  {sealed.receipts_rate:7.0f} rows/s vs {plain.receipts_rate:7.0f}  "
          f"{ratio(sealed.receipts_rate, plain.receipts_rate)}")
    print(f"  birthdays today  {sealed.birthdays_ms:7.2f} ms vs {plain.birthdays_ms:7.2f} ms  "
          f"{ratio(sealed.birthdays_ms, plain.birthdays_ms)} "
          f"({sealed.birthdays_found} members, full rows)")
    print(f"  every name       {sealed.names_ms:7.1f} ms vs {plain.names_ms:7.1f} ms  "
          f"{ratio(sealed.names_ms, plain.names_ms)} (the staff's /member search by name)")


async def run(where: str, urls: Callable[[str], str], folder: Path, requests: int) -> None:
    plain, sealed = await measure(urls, folder, requests)
    report(where, plain, sealed)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--receipts", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=2_000, help="/points requests")
    add_pg_option(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_files(folder, args.members, args.receipts)
        print(f"{args.members} members, {args.receipts} receipts, {args.points} /points "
              f"from {LINKED} members with {ENTRIES} ledger entries each")
        await run("SQLite", lambda name: f"sqlite+aiosqlite:///{folder}/{name}.db", folder,
                  args.points)
        if args.pg:
            async with AsyncExitStack() as stack:
                databases = {
                    f"{kind}{n}": await stack.enter_async_context(temporary_postgres(args.pg))
                    for kind in ("plain", "sealed") for n in range(IMPORT_ROUNDS)
                }
                await run("PostgreSQL", databases.__getitem__, folder, args.points)
        else:
            print(PG_SKIPPED)


if __name__ == "__main__":
    asyncio.run(main())
