"""Booking receipts into points, on small in-memory fakes of the repositories."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.loyalty.events import ReceiptsBooked
from domain.loyalty.model import EntryKind, LedgerEntry, PointsLedger, Receipt
from domain.loyalty.services import book_receipts
from domain.shared.events import Event
from domain.shared.policy import Policy

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


class FakeReceipts:
    def __init__(self) -> None:
        self.rows: dict[str, Receipt] = {}

    async def get(self, receipt_no: str) -> Receipt | None:
        return self.rows.get(receipt_no)

    async def get_many(self, receipt_nos: Iterable[str]) -> dict[str, Receipt]:
        return {no: r for no in receipt_nos if (r := await self.get(no)) is not None}

    async def refunded_many(self, original_receipt_nos: Iterable[str]) -> dict[str, Decimal]:
        return {no: await self.refunded(no) for no in original_receipt_nos}

    async def existing(self, receipt_nos: Iterable[str]) -> set[str]:
        return {no for no in receipt_nos if no in self.rows}

    async def add_many(self, receipts: Sequence[Receipt]) -> int:
        for receipt in receipts:
            assert receipt.receipt_no not in self.rows, "the database would refuse this"
            self.rows[receipt.receipt_no] = receipt
        return len(receipts)

    async def spend_since(self, member_ids: Iterable[int], since: datetime) -> dict[int, Decimal]:
        wanted = set(member_ids)
        spend: dict[int, Decimal] = {}
        for r in self.rows.values():
            if r.member_id in wanted and r.occurred_at >= since:
                spend[r.member_id] = spend.get(r.member_id, Decimal(0)) + r.amount
        return spend

    async def refunded(self, original_receipt_no: str) -> Decimal:
        return sum(
            (r.amount for r in self.rows.values() if r.original_receipt_no == original_receipt_no),
            Decimal(0),
        )


class FakeLedger:
    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []

    async def entries_for(self, member_id: int) -> list[LedgerEntry]:
        return [e for e in self.entries if e.member_id == member_id]

    async def entries_for_many(self, member_ids: Iterable[int]) -> dict[int, list[LedgerEntry]]:
        return {m: await self.entries_for(m) for m in member_ids}

    async def append(self, entries: Sequence[LedgerEntry]) -> int:
        known = {e.source_key for e in self.entries}
        fresh = [e for e in entries if e.source_key not in known]
        for i, entry in enumerate(fresh, start=len(self.entries) + 1):
            self.entries.append(replace(entry, id=i))
        return len(fresh)

    def balance(self, member_id: int) -> int:
        return sum(e.points for e in self.entries if e.member_id == member_id)


class FakeMembers:
    def __init__(self) -> None:
        self.tiers: dict[int, tuple[str, Decimal]] = {}

    async def tiers_of(self, member_ids: Iterable[int]) -> dict[int, str]:
        return {m: self.tiers.get(m, ("member", Decimal(0)))[0] for m in member_ids}

    async def set_tiers(self, tiers: dict[int, tuple[str, Decimal]]) -> None:
        self.tiers.update(tiers)


class FakeUnitOfWork:
    """Just the repositories booking touches."""

    def __init__(self) -> None:
        self.receipts = FakeReceipts()
        self.ledger = FakeLedger()
        self.members = FakeMembers()
        self.recorded: list[Event] = []

    async def record(self, event: Event) -> None:
        self.recorded.append(event)


def sale(no: str, amount: str, member: int = 1, days_ago: int = 10) -> Receipt:
    return Receipt(no, 1, member, NOW - timedelta(days=days_ago), Decimal(amount), "CNY")


def refund(no: str, original: str, amount: str, member: int = 1) -> Receipt:
    return Receipt(no, 1, member, NOW - timedelta(days=1), Decimal(amount), "CNY", original)


async def book(uow: FakeUnitOfWork, *receipts: Receipt, policy: Policy | None = None):
    return await book_receipts(uow, policy or Policy(), list(receipts), NOW)  # type: ignore[arg-type]


async def test_importing_the_same_receipts_twice_earns_nothing_twice() -> None:
    uow = FakeUnitOfWork()
    first = await book(uow, sale("A1", "120.00"), sale("A2", "80.50"))
    again = await book(uow, sale("A1", "120.00"), sale("A2", "80.50"))
    assert (first.inserted, first.points_earned) == (2, 200)
    assert (again.inserted, again.duplicates, again.points_earned) == (0, 2, 0)
    assert uow.ledger.balance(1) == 200


async def test_a_refund_in_the_same_batch_as_its_sale_takes_the_points_back() -> None:
    uow = FakeUnitOfWork()
    # The refund comes first in the batch: sales are booked before refunds all the same.
    result = await book(uow, refund("A1-R", "A1", "-100.00"), sale("A1", "100.00"))
    assert result.rejected == []
    assert (result.points_earned, result.points_taken_back) == (100, 100)
    assert uow.ledger.balance(1) == 0


async def test_a_refund_never_takes_the_balance_below_zero() -> None:
    uow = FakeUnitOfWork()
    await book(uow, sale("A1", "300.00"))
    # The member spent 250 of the 300 points before returning the goods.
    await uow.ledger.append(
        [LedgerEntry(1, EntryKind.REDEEM, -250, "redeem:1", NOW - timedelta(days=5))]
    )
    result = await book(uow, refund("A1-R", "A1", "-300.00"))
    assert result.points_taken_back == 50
    assert uow.ledger.balance(1) == 0
    assert uow.receipts.rows["A1-R"].points == -50


async def test_regression_partial_refunds_adding_up_to_the_receipt_take_back_all_its_points() -> (
    None
):
    # Rounding each part down used to leave a point with the member: 7 + 7 of 15.
    uow = FakeUnitOfWork()
    await book(uow, sale("A1", "15.00"))
    await book(uow, refund("A1-R1", "A1", "-7.50"))
    await book(uow, refund("A1-R2", "A1", "-7.50"))
    assert uow.ledger.balance(1) == 0


async def test_a_refund_cannot_return_more_than_is_left_of_the_receipt() -> None:
    uow = FakeUnitOfWork()
    await book(uow, sale("A1", "100.00"))
    await book(uow, refund("A1-R1", "A1", "-60.00"))
    result = await book(uow, refund("A1-R2", "A1", "-60.00"))
    assert [r.receipt_no for r in result.rejected] == ["A1-R2"]
    assert "exceeds" in result.rejected[0].reason
    assert uow.ledger.balance(1) == 40


async def test_refunds_in_one_chunk_each_see_the_ones_before_them() -> None:
    """Refunds are booked a chunk at a time; the result is the same as one at a time."""
    uow = FakeUnitOfWork()
    await book(uow, sale("A1", "15.00"), sale("B1", "100.00"))
    result = await book(
        uow,
        refund("A1-R1", "A1", "-7.50"),
        refund("A1-R2", "A1", "-7.50"),  # adds up to the whole receipt: every point back
        refund("A1-R3", "A1", "-1.00"),  # nothing left of A1 to refund
        refund("B1-R1", "B1", "-40.00"),
        refund("B1-R1-R", "B1-R1", "-1.00"),  # a refund of a refund
    )
    assert [(r.receipt_no, "exceeds" in r.reason or "itself a refund" in r.reason)
            for r in result.rejected] == [("A1-R3", True), ("B1-R1-R", True)]
    assert result.points_taken_back == 15 + 40
    assert uow.ledger.balance(1) == 60
    # One entry per refund booked, none for the refused ones.
    assert sorted(e.source_key for e in uow.ledger.entries if e.points < 0) == [
        "refund:A1-R1", "refund:A1-R2", "refund:B1-R1"
    ]


async def test_a_refund_of_someone_elses_receipt_is_refused() -> None:
    uow = FakeUnitOfWork()
    await book(uow, sale("A1", "100.00", member=1))
    result = await book(uow, refund("A1-R", "A1", "-100.00", member=2))
    assert "another member" in result.rejected[0].reason
    assert uow.ledger.balance(1) == 100


async def test_spend_over_the_threshold_moves_the_member_up_a_tier() -> None:
    uow = FakeUnitOfWork()
    await book(uow, sale("A1", "1999.99"))
    assert uow.members.tiers[1][0] == "member"
    await book(uow, sale("A2", "0.01"))
    assert uow.members.tiers[1] == ("silver", Decimal("2000.00"))
    await book(uow, refund("A2-R", "A2", "-0.01"))
    assert uow.members.tiers[1][0] == "member"


async def test_a_silver_member_earns_at_the_silver_multiplier() -> None:
    uow = FakeUnitOfWork()
    uow.members.tiers[1] = ("silver", Decimal("2500"))
    result = await book(uow, sale("A1", "100.00"))
    assert result.points_earned == 125


async def test_points_of_a_receipt_expire_twelve_months_after_the_purchase() -> None:
    uow = FakeUnitOfWork()
    await book(uow, sale("A1", "100.00", days_ago=10))
    (entry,) = uow.ledger.entries
    assert entry.expires_at == entry.occurred_at.replace(year=entry.occurred_at.year + 1)
    ledger = PointsLedger(1, uow.ledger.entries)
    assert ledger.available(entry.occurred_at.replace(year=entry.occurred_at.year + 1)) == 0


async def test_booked_sales_and_refunds_are_announced_once_per_booking() -> None:
    uow = FakeUnitOfWork()
    await book(uow, sale("A1", "120.00"))
    await book(uow, sale("A1", "120.00"), refund("A1-R", "A1", "-20.00"), refund("X", "NO", "-1"))
    booked = [e for e in uow.recorded if isinstance(e, ReceiptsBooked)]
    assert [[r.receipt_no for r in e.receipts] for e in booked] == [["A1"], ["A1-R"]]
