"""Importing transactions.csv on SQLite and PostgreSQL: points, refunds, tiers, time zones."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.bootstrap import App
from bot.cli import imports
from bot.cli.imports import ImportSummary, Writing, import_file, import_records
from domain.loyalty.model import EntryKind, LedgerEntry
from domain.loyalty.services import recompute_tiers
from tests.support.imports import THREE_MEMBERS, add_stores, members_file, transactions_file


@pytest.fixture
async def app(any_app: App, tmp_path: Path) -> App:
    """In this module the app runs on SQLite and PostgreSQL (`any_app`), with the two stores
    and THREE_MEMBERS imported."""
    await add_stores(any_app)
    summary = await import_file(
        any_app, "members", members_file(tmp_path, *THREE_MEMBERS), strict=False, progress=False
    )
    assert summary.inserted == 3
    return any_app


async def _import(
    app: App, path: Path, strict: bool = False, chunk_rows: int = 2000
) -> ImportSummary:
    return await import_file(
        app, "transactions", path, strict=strict, progress=False, chunk_rows=chunk_rows
    )


async def _import_rows(
    app: App, folder: Path, *rows: str, strict: bool = False, chunk_rows: int = 2000
) -> ImportSummary:
    """Imports a transactions file of these rows."""
    return await _import(app, transactions_file(folder, *rows), strict, chunk_rows)


async def _balance(app: App, member_no: str) -> int:
    async with app.uow_factory() as uow:
        member = await uow.members.get_by_member_no(member_no)
        assert member is not None and member.id is not None
        return await uow.ledger.balance(member.id)


async def test_importing_the_same_receipts_twice_earns_nothing_twice(
    app: App, tmp_path: Path
) -> None:
    path = transactions_file(
        tmp_path,
        "SH01-1,SH01,100001,,2026-06-01T18:30:00,128.50,CNY,",
        "SH01-2,SH01,,13900139000,2026-06-02 12:00,60.00,,",
        "UR01-1,UR01,100003,,2026-06-03T09:15:00+06:00,300,CNY",
    )
    first = await _import(app, path)
    assert (first.inserted, first.duplicates, first.rejected) == (3, 0, [])
    assert first.points_earned == 128 + 60 + 300
    again = await _import(app, path)
    assert (again.inserted, again.updated, again.duplicates, again.points_earned) == (0, 0, 3, 0)
    assert await _balance(app, "100001") == 128
    assert await _balance(app, "100002") == 60


async def test_a_receipt_time_without_offset_is_the_stores_local_time(
    app: App, tmp_path: Path
) -> None:
    await _import_rows(
        app,
        tmp_path,
        "SH01-1,SH01,100001,,2026-06-01T18:30:00,10.00,CNY,",
        "UR01-1,UR01,100001,,2026-06-01T18:30:00,10.00,CNY,",
    )
    async with app.uow_factory() as uow:
        shanghai = await uow.receipts.get("SH01-1")
        urumqi = await uow.receipts.get("UR01-1")
    assert shanghai is not None and urumqi is not None
    assert shanghai.occurred_at == datetime(2026, 6, 1, 10, 30, tzinfo=UTC)
    assert urumqi.occurred_at == datetime(2026, 6, 1, 12, 30, tzinfo=UTC)


async def test_a_refund_takes_back_the_points_of_its_receipt(
    app: App, tmp_path: Path
) -> None:
    summary = await _import_rows(
        app,
        tmp_path,
        "SH01-1,SH01,100001,,2026-06-01T18:30:00,200.00,CNY,",
        "SH01-1R,SH01,100001,,2026-06-03T10:00:00,-50.00,CNY,SH01-1",
    )
    assert (summary.points_earned, summary.points_taken_back) == (200, 50)
    assert await _balance(app, "100001") == 150


async def test_a_refund_never_takes_the_balance_below_zero(
    app: App, tmp_path: Path
) -> None:
    await _import_rows(app, tmp_path, "SH01-1,SH01,100001,,2026-06-01T18:30,300,CNY,")
    async with app.uow_factory() as uow:
        member = await uow.members.get_by_member_no("100001")
        assert member is not None and member.id is not None
        await uow.ledger.append(
            [LedgerEntry(member.id, EntryKind.REDEEM, -280, "redeem:test", app.clock.now())]
        )
        await uow.commit()
    summary = await _import(
        app,
        transactions_file(
            tmp_path, "SH01-1R,SH01,100001,,2026-06-14T10:00,-300,CNY,SH01-1", name="refund.csv"
        ),
    )
    assert summary.points_taken_back == 20
    assert await _balance(app, "100001") == 0


async def test_a_refund_before_its_sale_in_the_file_works_across_chunks(
    app: App, tmp_path: Path
) -> None:
    summary = await _import_rows(
        app,
        tmp_path,
        "SH01-9R,SH01,100001,,2026-06-05T10:00,-100,CNY,SH01-9",
        "SH01-2,SH01,100002,,2026-06-01T10:00,10,CNY,",
        "SH01-3,SH01,100002,,2026-06-01T11:00,10,CNY,",
        "SH01-9,SH01,100001,,2026-06-01T10:00,100,CNY,",
        chunk_rows=2,  # the sale is in a later chunk
    )
    assert summary.rejected == []
    assert (summary.inserted, summary.points_earned, summary.points_taken_back) == (4, 120, 100)
    assert await _balance(app, "100001") == 0


async def test_tiers_are_recomputed_from_the_imported_spend(app: App, tmp_path: Path) -> None:
    await _import_rows(
        app,
        tmp_path,
        "SH01-1,SH01,100001,,2026-01-10T10:00,1500.00,CNY,",
        "SH01-2,SH01,100001,,2026-05-10T10:00,700.00,CNY,",
        "SH01-3,SH01,100002,,2026-05-10T10:00,8000.00,CNY,",
        "SH01-4,SH01,100003,,2025-05-10T10:00,9000.00,CNY,",  # more than 12 months ago
    )
    async with app.uow_factory() as uow:
        li = await uow.members.get_by_member_no("100001")
        han = await uow.members.get_by_member_no("100002")
        jim = await uow.members.get_by_member_no("100003")
    assert li is not None and (li.tier, li.spend_12m) == ("silver", Decimal("2200.00"))
    assert han is not None and han.tier == "gold"
    assert jim is not None and (jim.tier, jim.spend_12m) == ("member", Decimal("0.00"))


async def test_bad_receipt_rows_are_rejected_by_line_and_the_good_ones_booked(
    app: App, tmp_path: Path
) -> None:
    summary = await _import_rows(
        app,
        tmp_path,
        "SH01-1,SH01,100001,,2026-06-01T18:30,10.00,CNY,",
        "SH01-2,SH01,100999,,2026-06-01T18:30,10.00,CNY,",
        "SH01-3,SH01,100001,,2026-06-01T18:30,10.005,CNY,",
        ",SH01,100001,,2026-06-01T18:30,10.00,CNY,",
        "SH01-1,SH01,100001,,2026-06-01T18:30,10.00,CNY,",
        "SH01-5,SH01,100001,,01/06/2026 18:30,10.00,CNY,",
        "SH01-6,SH01,100001,,2026-06-01T18:30,10.00,RMB,",
        "SH01-7,SH01,100001,,2026-06-01T18:30,-5.00,CNY,NOPE-1",
    )
    assert summary.inserted == 1
    assert [(e.line, e.reason) for e in summary.rejected] == [
        (3, "member 100999 is unknown (import the members first)"),
        (4, "amount 10.005 has more than 2 decimal places"),
        (5, "receipt_no is empty"),
        (6, "receipt SH01-1 is already on line 2"),
        (7, "occurred_at '01/06/2026 18:30' is not a date and time as ISO 8601 "
            "(2026-05-01T14:30)"),
        (8, "currency RMB is not the chain's currency CNY"),
        (9, "receipt SH01-7: original receipt NOPE-1 is unknown"),
    ]
    assert "line 9: receipt SH01-7: original receipt NOPE-1 is unknown" in summary.report()


async def test_strict_mode_books_nothing_when_a_refund_cannot_be_booked(
    app: App, tmp_path: Path
) -> None:
    summary = await _import_rows(
        app,
        tmp_path,
        "SH01-1,SH01,100001,,2026-06-01T18:30,100.00,CNY,",
        "SH01-1R,SH01,100001,,2026-06-02T18:30,-150.00,CNY,SH01-1",
        strict=True,
    )
    assert summary.failed and summary.rolled_back
    assert [e.line for e in summary.rejected] == [3]
    assert "exceeds" in summary.rejected[0].reason
    assert await _balance(app, "100001") == 0
    async with app.uow_factory() as uow:
        assert await uow.receipts.get("SH01-1") is None


async def test_tiers_kept_across_chunks_equal_a_full_recount(app: App, tmp_path: Path) -> None:
    """The import carries each member's 12-month spend from chunk to chunk instead of summing
    their receipts again; what it leaves must be what summing them all afresh gives, refunds of
    receipts older than the window (a negative year) and receipts outside it included."""
    rows = [
        # 100001: an old big sale (outside the window) refunded within it: the year is negative.
        "OLD-1,SH01,100001,,2025-01-10T10:00:00,5000.00,CNY,",
        "NEW-1,SH01,100001,,2026-06-01T10:00:00,120.00,CNY,",
        "REF-1,SH01,100001,,2026-06-02T10:00:00,-4000.00,CNY,OLD-1",
        "NEW-2,SH01,100001,,2026-06-03T10:00:00,300.00,CNY,",
        # 100002: crosses the silver threshold over several chunks.
        *(f"B-{i},SH01,100002,,2026-05-{i:02d}T12:00:00,900.00,CNY," for i in range(1, 9)),
        "B-R,SH01,100002,,2026-06-10T12:00:00,-450.00,CNY,B-3",
        # 100003: only receipts before the window, then one inside it.
        "C-1,UR01,100003,,2025-03-01T09:00:00,8000.00,CNY,",
        "C-2,UR01,100003,,2026-06-14T09:00:00,10.00,CNY,",
    ]
    summary = await _import_rows(app, tmp_path, *rows, chunk_rows=2)
    assert not summary.rejected, summary.report()
    kept = await _tiers_and_spend(app)
    async with app.uow_factory() as uow:
        await recompute_tiers(uow, app.policy, kept, app.clock.now())
        await uow.commit()
    recounted = await _tiers_and_spend(app)
    assert kept == recounted
    assert recounted[min(recounted)] == ("member", Decimal(0))  # negative year: zero, lowest
    assert {spend for _, spend in recounted.values()} == {
        Decimal(0), Decimal("6750.00"), Decimal("10.00")
    }


async def _tiers_and_spend(app: App) -> dict[int, tuple[str, Decimal]]:
    async with app.uow_factory() as uow:
        found: dict[int, tuple[str, Decimal]] = {}
        for number in ("100001", "100002", "100003"):
            member = await uow.members.get_by_member_no(number)
            assert member is not None and member.id is not None
            found[member.id] = (member.tier, member.spend_12m)
        return found


async def _refuse_receipt_bad(app: App) -> None:
    """A trigger that refuses the receipt numbered BAD, standing in for any constraint."""
    async with app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON receipts WHEN NEW.receipt_no = 'BAD' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        else:
            await conn.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.receipt_no = 'BAD' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
                "RETURN NEW; END $$"
            )
            await conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON receipts FOR EACH ROW "
                "EXECUTE FUNCTION refuse()"
            )


async def test_a_refused_write_loses_only_its_transaction_and_the_counts_say_so(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are committed a few at a time. When the database refuses a row (here a trigger
    standing in for any constraint), the chunks of the open transaction are not kept, the ones
    committed before are, and the summary counts only what is in the database."""
    monkeypatch.setattr(imports, "COMMIT_CHUNKS", 3)
    await _refuse_receipt_bad(app)
    rows = [f"S-{i},SH01,100001,,2026-06-01T10:{i:02d}:00,10.00,CNY," for i in range(1, 11)]
    rows[9] = "BAD,SH01,100001,,2026-06-01T10:59:00,10.00,CNY,"  # line 11: the 5th chunk
    summary = await _import_rows(app, tmp_path, *rows, chunk_rows=2)
    # Chunks 1-3 (lines 2-7) were committed; chunks 4 and 5 (lines 8-11) were open: lost.
    assert summary.fatal is not None and summary.fatal.startswith("lines 8-11: ")
    assert "refused by the test" in summary.fatal
    assert summary.inserted == 6 and summary.points_earned == 6 * 10
    async with app.uow_factory() as uow:
        stored = await uow.receipts.existing(f"S-{i}" for i in range(1, 11))
        member = await uow.members.get_by_member_no("100001")
        assert member is not None and member.id is not None
        balance = await uow.ledger.balance(member.id)
    assert stored == {f"S-{i}" for i in range(1, 7)}
    assert balance == summary.points_earned


async def test_an_import_written_the_demos_way_commits_as_it_is_told_and_books_the_same(
    app: App,
) -> None:
    """The demo's way of writing (bot.demo.DEMO_WRITING: fewer, bigger transactions and a
    bigger page cache) groups chunks as its Writing says, not as the module's figures say, and
    a refused write still loses only the open transaction."""
    await _refuse_receipt_bad(app)
    # As the demo gives them: tuples in the columns' order, no file.
    rows = [
        (line, (f"S-{line}", "SH01", "100001", "", f"2026-06-01T10:{line:02d}:00", "10.00",
                "CNY", ""))
        for line in range(2, 12)
    ]
    rows[9] = (11, ("BAD", "SH01", "100001", "", "2026-06-01T10:59:00", "10.00", "CNY", ""))
    summary = await import_records(
        app, "transactions", rows, chunk_rows=2,
        writing=Writing(commit_chunks=4, commit_seconds=3600.0, cache_mb=64),
    )
    # Chunks 1-4 (lines 2-9) were committed together; chunk 5 (lines 10-11) was open: lost.
    assert summary.fatal is not None and summary.fatal.startswith("lines 10-11: ")
    assert summary.inserted == 8 and summary.points_earned == 8 * 10
    async with app.uow_factory() as uow:
        stored = await uow.receipts.existing(f"S-{i}" for i in range(2, 12))
    assert stored == {f"S-{i}" for i in range(2, 10)}
