"""--strict checks refunds with booking's own rule and bulk look-ups: it refuses exactly the
refunds booking would refuse, for the same reasons, whether their originals are in the file or
were imported before."""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import App
from bot.cli.imports import import_file
from tests.support.imports import THREE_MEMBERS, add_stores, members_file, transactions_file

REFUNDS = (
    "SH01-1R1,SH01,100001,,2026-06-02T10:00,-60.00,CNY,SH01-1",  # of a receipt stored before
    "SH01-1R2,SH01,100001,,2026-06-02T11:00,-50.00,CNY,SH01-1",  # 60 + 50 > 100
    "SH01-1R3,SH01,100001,,2026-06-02T12:00,-1.00,CNY,SH01-1R1",  # a refund of a refund
    "SH01-2,SH01,100002,,2026-06-01T09:00,30.00,CNY,",
    "SH01-2R1,SH01,100002,,2026-06-02T09:00,-10.00,CNY,SH01-2",  # of a sale of this file
    "SH01-2R2,SH01,100002,,2026-06-02T09:30,-20.00,CNY,SH01-2",  # the rest of it
    "SH01-2R3,SH01,100002,,2026-06-02T09:45,-0.01,CNY,SH01-2",  # nothing left
    "SH01-2R4,SH01,100001,,2026-06-02T09:50,-1.00,CNY,SH01-2",  # another member's receipt
    "SH01-9R,SH01,100001,,2026-06-02T10:00,-1.00,CNY,NOPE-9",
)


async def test_strict_refuses_the_refunds_booking_refuses_with_the_same_reasons(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    await import_file(any_app, "members", members_file(tmp_path, *THREE_MEMBERS),
                      strict=False, progress=False)
    before = transactions_file(
        tmp_path, "SH01-1,SH01,100001,,2026-06-01T18:30,100.00,CNY,", name="before.csv"
    )
    assert (await import_file(any_app, "transactions", before, strict=False,
                              progress=False)).inserted == 1
    path = transactions_file(tmp_path, *REFUNDS)

    strict = await import_file(any_app, "transactions", path, strict=True, progress=False,
                               chunk_rows=3)
    assert strict.failed and strict.rolled_back and strict.inserted == 0
    async with any_app.uow_factory() as uow:
        assert await uow.receipts.existing(["SH01-1R1", "SH01-2"]) == set()

    booked = await import_file(any_app, "transactions", path, strict=False, progress=False,
                               chunk_rows=3)
    expected = [
        (3, "receipt SH01-1R2: refund of 50.00 exceeds what is left of receipt SH01-1 (40.00)"),
        (4, "receipt SH01-1R3: receipt SH01-1R1 is itself a refund"),
        (8, "receipt SH01-2R3: refund of 0.01 exceeds what is left of receipt SH01-2 (0.00)"),
        (9, "receipt SH01-2R4: original receipt SH01-2 belongs to another member"),
        (10, "receipt SH01-9R: original receipt NOPE-9 is unknown"),
    ]
    assert [(e.line, e.reason) for e in booked.rejected] == expected
    assert [(e.line, e.reason) for e in strict.rejected] == expected
    assert booked.inserted == 4  # SH01-1R1, SH01-2, SH01-2R1, SH01-2R2
    async with any_app.uow_factory() as uow:
        assert await uow.ledger.stale_summaries() == []
