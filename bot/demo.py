"""`retailbot demo`: a believable demo chain, made by the importer from generated rows.

Two stores in different time zones, SH01 in Shanghai (Asia/Shanghai, UTC+8) and UR01 in Urumqi
(Asia/Urumqi, UTC+6), so "a receipt time without an offset is the store's local time" shows.
Members get Chinese or English names, valid and unique Chinese mobile numbers, birthdays (some
unknown), consents and join dates; receipts cover the 12 months up to the start of today in
the chain's time zone, with a few refunds. Everything comes from random.Random(seed): the same
seed on an empty database on the same day gives the same chain, whatever the hour.

The rows are written as the text a CSV export would hold (naive local times, national phone
numbers, amounts with two decimals) and go through bot.cli.imports.import_records, the path a
real file takes, so the demo proves the importer.

Then bot.demo_life plays the chain's year through the product's own use cases and jobs with
the clock moved (surveys, tickets, coupons, campaigns, callbacks, segments, a staff team), so
every report, chart and queue has something real to show. A chain bigger than LIFE_SAMPLE
lives that year with its first LIFE_SAMPLE members; the others, with all their receipts, are
imported when the year is over and before the last segments refresh (see seed_demo). Their
receipts are drawn meanwhile by a second process (`python -m bot.demo`, started by the demo
itself), from where the sample's draws ended: the rows are those one process would draw.

Member numbers are the seed followed by five digits (seed 42: 4200001...) and receipt numbers
carry the seed too, so seeding again with the same seed changes nothing and another seed adds
a second, separate batch of members.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import random
import sys
from collections import Counter
from collections.abc import Awaitable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from bot.cli.common import CliError
from bot.cli.imports import ImportSummary, Writing, fewer_collections, import_records
from bot.cli.progress import Progress
from domain.imports.rules import TRANSACTION_COLUMNS
from domain.members.model import Store
from domain.shared.clock import local_today

if TYPE_CHECKING:
    from bot.bootstrap import App

# A valid Chinese mobile that no demo member has: try joining with it.
DEMO_NEW_PHONE = "+8613912345678"

DEMO_STORES = (
    Store("SH01", "Shanghai Jing'an", "Asia/Shanghai"),
    Store("UR01", "Urumqi Tianshan", "Asia/Urumqi"),
)
# Member numbers hold the member's index in five digits; the 100,000th has six, which no other
# seed's numbers can equal (their index 0 does not exist).
MAX_MEMBERS = 100_000
# A big chain's year (surveys, tickets, calls, gifts, campaigns) is played for its first this
# many members (the default demo's whole chain): stories, not volume; enough for campaign groups
# above the default minimum size, and a year played in well under a minute.
LIFE_SAMPLE = 500
# How the demo's imports write. No bot shares the database while the demo seeds it, so they
# commit every 200,000 rows or 30 seconds rather than every 20,000 rows or 2 seconds (a commit
# writes every page it changed, and the rows of a chunk change pages all over the indexes of
# receipts and points), and keep up to 1 GB of the database in SQLite's page cache (100,000
# members make a database of about 700 MB; SQLite takes the memory only as pages are read).
# Neither changes what is written: chunks, checks and points are those of any import.
DEMO_WRITING = Writing(commit_chunks=100, commit_seconds=30.0, cache_mb=1024)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓"
    "曹彭曾萧田董潘袁蔡蒋余于杜叶程"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰华建国玲红梅"
    "鑫宇浩然子涵欣怡梓轩雨萱思远嘉怡"
)
FIRST_NAMES = (
    "Emma", "Olivia", "Sophia", "Mia", "Grace", "Chloe", "Lucy", "Hannah", "Amelia", "Zoe",
    "James", "Oliver", "Jack", "Henry", "Leo", "Daniel", "Ethan", "Lucas", "Samuel", "Ryan",
    "Kevin", "Vivian", "Tony", "Cathy", "Eric", "Jenny", "Alan", "Helen", "David", "Sarah",
)
LAST_NAMES = (
    "Smith", "Brown", "Wilson", "Taylor", "Clarke", "Walker", "Wright", "Green", "Hall", "Wood",
    "Chan", "Wong", "Lee", "Cheung", "Lau", "Ng", "Ho", "Tan", "Lim", "Chen",
)
# Prefixes of mainland mobile networks (China Mobile, Unicom, Telecom).
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "180", "181", "182",
    "183", "185", "186", "187", "188", "189", "191", "198", "199",
)


@dataclass(frozen=True)
class Shopper:
    """How often a demo member shops and how much: enough spread to fill every tier."""

    visits_per_year: tuple[int, int]
    basket: float  # typical receipt amount


SHOPPERS = (
    (0.55, Shopper((1, 12), 85.0)),  # occasional
    (0.33, Shopper((12, 45), 130.0)),  # regular
    (0.12, Shopper((45, 110), 190.0)),  # the family that shops here every few days
)
REFUND_RATE = 0.01


class _ReceiptRow(NamedTuple):
    """A generated receipt as the importer reads a transactions file's row (the columns of
    TRANSACTION_COLUMNS, in their order, as text): 100,000 members have about 1.9 million, and
    a tuple takes a third of the memory of a dict and goes to the checks as it is."""

    receipt_no: str
    store_code: str
    member_no: str
    phone: str
    occurred_at: str
    amount: str
    currency: str
    original_receipt_no: str = ""


assert _ReceiptRow._fields == TRANSACTION_COLUMNS  # the importer reads the row by position


async def seed_demo(
    app: App, *, members: int = 500, seed: int = 42, progress: bool = True, life: bool = True
) -> str:
    """Create the demo chain through the importer, then (unless `life` is False, or the
    members were there already) play its year through the product (bot.demo_life); return a
    summary.

    A big chain's year is played for its first LIFE_SAMPLE members (the stories: surveys,
    tickets, calls, birthday gifts, campaigns); the other members and their receipts are
    imported once that year is over, before the last segments refresh, so purchases, tiers and
    segments cover everyone while the year's daily jobs do not wade through 100,000 members."""
    if not 1 <= members <= MAX_MEMBERS:
        raise ValueError(f"the demo has 1 to {MAX_MEMBERS} members, not {members}")
    stores = await _ensure_stores(app)
    # Anchored at the chain's midnight, not the running clock, so the same seed gives the same
    # chain all day long (the generator's draws depend on the time span it covers).
    zone = ZoneInfo(app.policy.timezone)
    now = datetime.combine(local_today(app.clock, app.policy.timezone), time(0), tzinfo=zone)
    rng = random.Random(seed)
    # 100,000 members have 1.9 million receipt rows, none in a cycle: the collector, run as
    # often as by default, only slows the generating. The meter counts people, once for their
    # members' rows and once for their receipts (here the sample's only when the others' are
    # drawn by a second process, below).
    sample_size = min(members, LIFE_SAMPLE) if life else members
    with Progress(
        "demo: generating members and receipts", members + sample_size, enabled=progress
    ) as meter, fewer_collections():
        people = _members(rng, members, seed, now, stores, meter)
        sample = people[:sample_size]
        sales = _receipts(rng, sample, seed, now, stores, meter)
    rest = people[len(sample):]
    batch = _Batch(app, progress, now.astimezone(UTC))
    # The receipts of the members who do not live the year are drawn by a second process
    # while this one plays it: the same draws, from where the sample's ended, as if drawn
    # here (100,000 members' 1.9 million rows took this process 20 s or more before).
    later = (
        asyncio.create_task(_drawn_elsewhere(rng.getstate(), rest, seed, now, stores, sales))
        if rest else None
    )
    try:
        await batch.add(sample)
        year = ""
        if life and batch.members.inserted:
            from bot.demo_life import describe_life, live_a_year

            if rest and progress:
                print(f"demo: the year is played for the first {len(sample):,} members; the "
                      f"other {len(rest):,} and their receipts (drawn meanwhile by a second "
                      f"process) are imported after it", file=sys.stderr)
            lived = await live_a_year(
                app, seed=seed, anchor=now.astimezone(UTC),
                member_nos=[p.row["member_no"] for p in sample], progress=progress,
                rest=partial(batch.add, rest, later),
            )
            year = "\n\n" + describe_life(lived)
        elif rest:
            await batch.add(rest, later)
    finally:
        if later is not None and not later.done():
            later.cancel()
            with suppress(asyncio.CancelledError):
                await later
    tiers = await _tier_counts(app, [p.row["member_no"] for p in people])
    return _summary(
        app, seed, stores, batch.members, batch.receipts, batch.refunds, tiers
    ) + year


class _Batch:
    """Imports people and their receipts in one or more parts (see seed_demo), adding up the
    counts; line numbers run on as if each kind were one CSV file."""

    def __init__(self, app: App, progress: bool, now: datetime) -> None:
        self.app = app
        self.progress = progress
        # Both parts count from the demo's midnight, not the running clock: the same seed
        # gives the same points and tiers at any hour (the second part is imported after the
        # year is played, when the clock has moved on).
        self.now = now
        self.members = ImportSummary("members", "demo members")
        self.receipts = ImportSummary("transactions", "demo receipts")
        self.refunds = 0  # among the generated receipts
        self._member_lines = self._receipt_lines = 2

    async def add(
        self, people: list[_Person], drawn: Awaitable[list[tuple[str, ...]]] | None = None
    ) -> None:
        """Import these people, then their receipts: those in `person.receipts`, or, when
        `drawn` is given, the rows it gives (already in time order)."""
        if not people:
            return
        rows = [person.row for person in people]
        await import_records(
            self.app, "members", enumerate(rows, start=self._member_lines),
            progress=self.progress, total=len(rows), summary=self.members,
            writing=DEMO_WRITING, now=self.now,
        )
        self._member_lines += len(rows)
        receipts = _in_time_order(people) if drawn is None else await drawn
        self.refunds += sum(1 for row in receipts if row[_ORIGINAL])
        await import_records(
            self.app, "transactions", enumerate(receipts, start=self._receipt_lines),
            progress=self.progress, total=len(receipts), summary=self.receipts,
            writing=DEMO_WRITING, now=self.now,
        )
        self._receipt_lines += len(receipts)


_ORIGINAL = TRANSACTION_COLUMNS.index("original_receipt_no")  # given on refunds only


def _in_time_order(people: list[_Person]) -> list[tuple[str, ...]]:
    return sorted(
        (row for person in people for row in person.receipts),
        key=itemgetter(TRANSACTION_COLUMNS.index("occurred_at")),
    )


async def demo_member_phone(app: App) -> str | None:
    """The phone of a demo member to chat as: the lowest member number with a phone and a
    receipt, so the same database always gives the same member and the points are not 0."""
    async with app.uow_factory() as uow:
        return await uow.members.first_phone_with_receipts()


# --- generating ----------------------------------------------------------------------------


@dataclass
class _Person:
    row: dict[str, str]
    store: Store
    joined_at: datetime
    shopper: Shopper
    receipts: list[_ReceiptRow] = field(default_factory=list)  # sales and refunds


async def _ensure_stores(app: App) -> list[Store]:
    async with app.uow_factory() as uow:
        found = []
        for store in DEMO_STORES:
            existing = await uow.stores.get_by_code(store.code)
            found.append(existing or await uow.stores.add(store))
        await uow.commit()
    return found


def _members(
    rng: random.Random, count: int, seed: int, now: datetime, stores: list[Store],
    meter: Progress,
) -> list[_Person]:
    phones: set[str] = {DEMO_NEW_PHONE}
    people = []
    zones = {store.code: ZoneInfo(store.timezone) for store in stores}
    for index in range(1, count + 1):
        store = stores[0] if rng.random() < 0.7 else stores[1]
        zone = zones[store.code]
        joined = now - timedelta(days=rng.uniform(20, 3 * 365))
        shopper = _pick_shopper(rng) if index > 1 else SHOPPERS[1][1]  # member 1 shops
        birthday = ""
        if rng.random() < 0.85:
            born = now.date() - timedelta(days=rng.randint(18 * 365, 75 * 365))
            birthday = born.isoformat()
        row = {
            "member_no": f"{seed}{index:05d}",
            "name": _name(rng),
            "phone": _phone(rng, phones),
            "birthday": birthday,
            "store_code": store.code,
            "joined_at": joined.astimezone(zone).replace(tzinfo=None).isoformat(" ", "seconds"),
            "marketing_consent": rng.choice(("true", "true", "yes", "1", "false", "no")),
        }
        people.append(_Person(row, store, joined, shopper))
        if index % 1000 == 0:
            meter.advance(1000)
    meter.advance(count % 1000)
    return people


def _pick_shopper(rng: random.Random) -> Shopper:
    roll = rng.random()
    for share, shopper in SHOPPERS:
        if roll < share:
            return shopper
        roll -= share
    return SHOPPERS[-1][1]


def _name(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _phone(rng: random.Random, taken: set[str]) -> str:
    """A national-format mobile number as a till would export it; valid and not yet taken."""
    for _ in range(1000):  # collisions in 10^8 numbers per prefix are rare; never loops long
        national = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        e164 = "+86" + national  # what normalize_phone gives a valid mainland mobile
        if e164 not in taken:
            taken.add(e164)
            return national
    raise RuntimeError("could not find a free demo phone number")


# Where the `bot` package lies: the second process runs the same code as this one.
_CODE_ROOT = str(Path(__file__).resolve().parent.parent)


def _receipts(
    rng: random.Random, people: list[_Person], seed: int, now: datetime, stores: list[Store],
    meter: Progress, sales: int = 0,
) -> int:
    """Each person's sales and refunds of the last 12 months, into `person.receipts`, after
    the `sales` drawn already (they number the receipts); return how many sales there are
    now. 100,000 members have about 1.9 million receipts: the loop does no more than it must
    per receipt (zones looked up once, amounts as floats)."""
    year_ago = now - timedelta(days=365)
    zones = {store.code: ZoneInfo(store.timezone) for store in stores}
    for index, person in enumerate(people, start=1):
        if index % 1000 == 0:
            meter.advance(1000)
        low, high = person.shopper.visits_per_year
        visits = rng.randint(low, high)
        start = max(year_ago, person.joined_at)
        share_of_year = (now - start) / (now - year_ago)
        basket = person.shopper.basket
        member_no, phone = person.row["member_no"], person.row["phone"]
        for _ in range(round(visits * share_of_year)):
            store = person.store if rng.random() < 0.9 else rng.choice(stores)
            when = _opening_hours(rng, start, now, zones[store.code])
            # A float rounded to cents prints as those cents: the amount a till exports.
            amount = max(1.0, round(rng.lognormvariate(0, 0.6) * basket, 2))
            sales += 1
            # Most tills know the member number; some only the phone typed at the till.
            by_phone = rng.random() < 0.1
            sale = _ReceiptRow(
                receipt_no=f"{store.code}-{seed}-{sales:07d}",
                store_code=store.code,
                member_no="" if by_phone else member_no,
                phone=phone if by_phone else "",
                occurred_at=when.replace(tzinfo=None).isoformat(timespec="seconds"),
                amount=f"{amount:.2f}",
                currency="CNY",
            )
            person.receipts.append(sale)
            if rng.random() < REFUND_RATE:
                refund = _refund(rng, sale, person, when, now)
                if refund is not None:
                    person.receipts.append(refund)
    meter.advance(len(people) % 1000)
    return sales


async def _drawn_elsewhere(
    state: Any, people: list[_Person], seed: int, now: datetime, stores: list[Store],
    sales: int,
) -> list[tuple[str, ...]]:
    """The receipts of `people` drawn by `python -m bot.demo` from the generator's `state`,
    after `sales` sales: what `_receipts` would draw here, in time order. The other process only
    draws (no database, no network, nothing written); its rows come back as plain tuples,
    which travel five times faster than named ones."""
    job = pickle.dumps((state, people, seed, now, stores, sales), pickle.HIGHEST_PROTOCOL)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [_CODE_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]
    )}
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.demo", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    try:
        out, err = await other.communicate(job)
    except BaseException:
        if other.returncode is None:
            other.kill()
            await other.wait()
        raise
    if other.returncode != 0:
        last = (err.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise CliError(f"demo: drawing the receipts in a second process failed: {last}")
    rows: list[tuple[str, ...]] = pickle.loads(out)  # our own child's output, not anybody's
    return rows


def _draw_for_another_process() -> None:
    """`python -m bot.demo`: read a job of _drawn_elsewhere on standard input, write the
    receipts it asks for on standard output."""
    state, people, seed, now, stores, sales = pickle.load(sys.stdin.buffer)
    rng = random.Random()
    rng.setstate(state)
    with fewer_collections():
        _receipts(rng, people, seed, now, stores, Progress("", enabled=False), sales)
        rows = [tuple(row) for row in _in_time_order(people)]
    pickle.dump(rows, sys.stdout.buffer, pickle.HIGHEST_PROTOCOL)


def _refund(
    rng: random.Random, sale: _ReceiptRow, person: _Person, sold: datetime, now: datetime
) -> _ReceiptRow | None:
    back = sold + timedelta(days=rng.randint(1, 7), minutes=rng.randint(0, 600))
    if back >= now:
        return None
    amount = Decimal(sale.amount)
    if rng.random() < 0.5:  # part of the basket goes back
        amount = (amount * Decimal(str(rng.uniform(0.2, 0.8)))).quantize(Decimal("0.01"))
    return _ReceiptRow(
        receipt_no=sale.receipt_no + "-R",
        store_code=sale.store_code,
        member_no=person.row["member_no"],
        phone="",
        occurred_at=back.replace(tzinfo=None).isoformat(timespec="seconds"),
        amount=f"{-amount:.2f}",
        currency="CNY",
        original_receipt_no=sale.receipt_no,
    )


def _opening_hours(rng: random.Random, start: datetime, now: datetime, zone: ZoneInfo) -> datetime:
    """A moment between start and now, moved to the store's opening hours (8:00 to 22:00)."""
    for _ in range(20):  # a handful of tries; the fallback below always fits
        moment = start + (now - start) * rng.random()
        local = moment.astimezone(zone)
        local = local.replace(hour=rng.randint(8, 21), minute=rng.randint(0, 59),
                              second=rng.randint(0, 59))
        if start <= local < now:
            return local
    return (start + (now - start) / 2).astimezone(zone)


# --- telling ---------------------------------------------------------------------------


async def _tier_counts(app: App, member_nos: list[str]) -> Counter[str]:
    async with app.uow_factory() as uow:
        ids = await uow.members.ids_by_member_no(member_nos)
        tiers = await uow.members.tiers_of(ids.values())
    return Counter(tiers.values())


def _summary(
    app: App,
    seed: int,
    stores: list[Store],
    people: ImportSummary,
    receipts: ImportSummary,
    refunds: int,
    tiers: Counter[str],
) -> str:
    shops = ", ".join(f"{s.code} {s.name} ({s.timezone})" for s in stores)
    tier_text = ", ".join(
        f"{tiers.get(t.key, 0)} {t.name_en.lower()}" for t in app.policy.tiers
    )
    # Generated rows should all pass; if one does not, say so rather than hide it.
    rejected = people.rejected + receipts.rejected
    problems = ""
    if rejected:
        problems = f" {len(rejected)} generated rows were rejected ({rejected[0]})."
    return (
        f"Demo chain {app.policy.chain_name!r} (seed {seed}): stores {shops}; "
        f"{people.inserted} members added ({people.duplicates} already there) and "
        f"{receipts.inserted:,} receipts of the last 12 months booked through the importer "
        f"({receipts.duplicates:,} already there), {refunds} of them refunds; "
        f"{receipts.points_earned:,} points earned, {receipts.points_taken_back:,} taken back "
        f"by refunds; tiers now {tier_text}. The same seed gives the same chain.{problems}"
    )


if __name__ == "__main__":
    _draw_for_another_process()
