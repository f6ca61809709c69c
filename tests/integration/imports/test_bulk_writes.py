"""The import's bulk writes and look-ups on SQLite and PostgreSQL: receipts and ledger entries
written as plain tuples are stored exactly as SQLAlchemy stores them, and a look-up of many
keys sent as one parameter finds what an IN list finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bot.bootstrap import App
from bot.cli.imports import import_file
from domain.loyalty.model import EntryKind, LedgerEntry, Receipt
from storage.common import one_of, to_cents
from storage.loyalty.tables import points_ledger, receipts
from storage.uow import BULK_CACHE_MB
from tests.support.imports import THREE_MEMBERS, add_stores, members_file

MOMENTS = [
    datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),  # a time the clocks skip
    # The hour the clocks go back, both times: equal as wall times, an hour apart.
    datetime(2025, 10, 26, 2, 30, fold=0, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2026, 6, 1, 18, 30, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai")),
    datetime(2025, 1, 1, tzinfo=UTC),
    datetime(2026, 6, 1, 18, 30, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
]


async def _member_and_store(app: App, folder: Path) -> tuple[int, int]:
    shanghai, _ = await add_stores(app)
    await import_file(app, "members", members_file(folder, *THREE_MEMBERS), strict=False,
                      progress=False)
    async with app.uow_factory() as uow:
        ids = await uow.members.ids_by_member_no(["100001"])
    assert shanghai.id is not None
    return ids["100001"], shanghai.id


async def test_bulk_written_receipts_and_entries_are_stored_as_sqlalchemy_stores_them(
    any_app: App, tmp_path: Path
) -> None:
    member_id, store_id = await _member_and_store(any_app, tmp_path)
    async with any_app.uow_factory() as uow:
        await uow.receipts.add_many([
            Receipt(f"BULK-{i}", store_id, member_id, moment, Decimal("12.34"), "CNY", None, 5)
            for i, moment in enumerate(MOMENTS)
        ])
        await uow.ledger.append([
            LedgerEntry(member_id, EntryKind.EARN, 5, f"bulk:{i}", moment, moment, "n")
            for i, moment in enumerate(MOMENTS)
        ])
        conn = uow.connection
        for i, moment in enumerate(MOMENTS):
            await conn.execute(insert(receipts).values(
                receipt_no=f"ONE-{i}", store_id=store_id, member_id=member_id,
                occurred_at=moment, amount_cents=to_cents(Decimal("12.34")), currency="CNY",
                points=5,
            ))
            await conn.execute(insert(points_ledger).values(
                member_id=member_id, kind="earn", points=5, source_key=f"one:{i}",
                occurred_at=moment, expires_at=moment, note="n",
            ))
        await uow.commit()
    async with any_app.uow_factory() as uow:
        # As the driver hands the stored values back (text on SQLite), not as read through
        # the column type, which would hide a difference in how they were written.
        raw = {
            row[0]: row[1:]
            for row in await uow.connection.exec_driver_sql(
                "SELECT receipt_no, occurred_at, amount_cents FROM receipts"
            )
        }
        entries = {
            row[0]: row[1:]
            for row in await uow.connection.exec_driver_sql(
                "SELECT source_key, occurred_at, expires_at FROM points_ledger"
            )
        }
        read = await uow.receipts.get_many(raw)
    for i, moment in enumerate(MOMENTS):
        assert raw[f"BULK-{i}"] == raw[f"ONE-{i}"]
        assert entries[f"bulk:{i}"] == entries[f"one:{i}"]
        # (Compared in UTC: an aware time in a gap or fold never equals one of another zone.)
        utc = moment.astimezone(UTC)
        assert read[f"BULK-{i}"].occurred_at == utc == read[f"ONE-{i}"].occurred_at


async def test_a_look_up_of_many_keys_finds_what_an_in_list_finds(
    any_app: App, tmp_path: Path
) -> None:
    member_id, store_id = await _member_and_store(any_app, tmp_path)
    numbers = [f"收据-{i}" if i % 3 == 0 else f"R'{i}\"\\" for i in range(1200)]
    numbers[2] = "🧾-\t-1"  # outside the basic plane, and a control character
    async with any_app.uow_factory() as uow:
        await uow.receipts.add_many([
            Receipt(n, store_id, member_id, MOMENTS[3], Decimal("1.00"), "CNY") for n in numbers
        ])
        await uow.commit()
    wanted = numbers[::2] + ["absent", ""]
    async with any_app.uow_factory() as uow:
        conn = uow.connection
        by_one = set(
            (await conn.execute(
                select(receipts.c.receipt_no).where(one_of(conn, receipts.c.receipt_no, wanted))
            )).scalars()
        )
        by_in = set(
            (await conn.execute(
                select(receipts.c.receipt_no).where(receipts.c.receipt_no.in_(wanted))
            )).scalars()
        )
        ids = set(
            (await conn.execute(
                select(receipts.c.member_id).where(
                    one_of(conn, receipts.c.member_id, [member_id, -1])
                )
            )).scalars()
        )
        none = (await conn.execute(
            select(receipts.c.receipt_no).where(one_of(conn, receipts.c.receipt_no, []))
        )).all()
        found = await uow.receipts.existing(wanted)
    assert by_one == by_in == found == set(numbers[::2])
    assert ids == {member_id}
    assert none == []


async def test_a_bulk_writer_gets_the_page_cache_it_asks_for_and_the_default_otherwise(
    any_app: App,
) -> None:
    """A nightly import's connection takes BULK_CACHE_MB of page cache on SQLite, the demo's
    the size it asks for, and a connection the pool hands out again is given the new size;
    PostgreSQL's server owns its cache, so there it changes nothing."""
    sizes = []
    for asked in (None, 512, None):
        async with any_app.uow_factory() as uow:
            await uow.for_bulk_writes(asked)
            if uow.connection.dialect.name == "sqlite":
                found = await uow.connection.exec_driver_sql("PRAGMA cache_size")
                sizes.append(found.scalar_one())
    if sizes:  # SQLite: negative sizes are KiB
        assert sizes == [-BULK_CACHE_MB * 1024, -512 * 1024, -BULK_CACHE_MB * 1024]
