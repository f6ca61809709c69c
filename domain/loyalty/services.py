"""Use cases of the points programme: book receipts, refund, summarise, recompute tiers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from domain.loyalty.events import ReceiptsBooked
from domain.loyalty.model import EntryKind, LedgerEntry, PointsLedger, Receipt
from domain.shared.clock import add_months

if TYPE_CHECKING:
    from domain.loyalty.policy import Tier
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork

ROLLING_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class RejectedReceipt:
    receipt_no: str
    reason: str


@dataclass
class BookingResult:
    """What booking a batch of receipts did."""

    inserted: int = 0
    duplicates: int = 0
    rejected: list[RejectedReceipt] = field(default_factory=list)
    points_earned: int = 0
    points_taken_back: int = 0
    members_touched: set[int] = field(default_factory=set)


def earn_entry(policy: Policy, receipt: Receipt, tier: Tier) -> LedgerEntry:
    """The ledger entry a sale earns: multiplied by the member's tier, expiring per award."""
    occurred_at = receipt.occurred_at
    return LedgerEntry(
        receipt.member_id,
        EntryKind.EARN,
        policy.points_for(receipt.amount, tier.multiplier),
        f"receipt:{receipt.receipt_no}",
        occurred_at,
        # add_months, worked out once per day: an import earns on thousands of receipts a day.
        datetime.combine(
            _months_later(occurred_at.date(), policy.points.expiry_months), occurred_at.timetz()
        ),
        receipt.receipt_no,
    )


@lru_cache(maxsize=4096)
def _months_later(day: date, months: int) -> date:
    return add_months(datetime.combine(day, time()), months).date()


async def book_receipts(
    uow: UnitOfWork,
    policy: Policy,
    receipts: Sequence[Receipt],
    now: datetime,
    *,
    stored: Iterable[str] | None = None,
    spend: RollingSpend | None = None,
) -> BookingResult:
    """Record receipts and their points in the caller's transaction.

    A receipt number seen before is a duplicate and changes nothing, so importing a file twice
    is harmless. Sales earn at the member's current tier; refunds take back the points of the
    original receipt in proportion to the amount refunded, never more than it earned and never
    below a zero balance. Tiers of every member touched are recomputed at the end. `stored`,
    when the caller has just read them in the same transaction, are the numbers among
    `receipts` already stored (an import reads them anyway, to warn of changed receipts).
    `spend`, an import's running totals, spares reading every touched member's receipts again.
    """
    result = BookingResult()
    seen = (
        set(stored) if stored is not None
        else await uow.receipts.existing(r.receipt_no for r in receipts)
    )
    sales: list[Receipt] = []
    refunds: list[Receipt] = []
    for receipt in receipts:
        if receipt.receipt_no in seen:
            result.duplicates += 1
            continue
        seen.add(receipt.receipt_no)
        (refunds if receipt.is_refund else sales).append(receipt)

    tiers = {
        member_id: policy.tier(key)
        for member_id, key in (await uow.members.tiers_of({r.member_id for r in sales})).items()
    }
    lowest = policy.tier("")
    entries: list[LedgerEntry] = []
    booked: list[Receipt] = []
    for sale in sales:
        entry = earn_entry(policy, sale, tiers.get(sale.member_id, lowest))
        entries.append(entry)
        booked.append(_with_points(sale, entry.points))
    result.points_earned += sum(entry.points for entry in entries)
    await uow.receipts.add_many(booked)  # before the refunds: one may return a sale just added
    result.inserted += len(booked)
    result.members_touched.update(r.member_id for r in booked)

    booked_refunds: list[Receipt] = []
    if refunds:
        booked_refunds, taken_back = await _book_refunds(uow, refunds, entries, now, result)
        await uow.receipts.add_many(booked_refunds)
        entries.extend(taken_back)
    await uow.ledger.append(entries)  # one ledger write for the whole chunk
    await recompute_tiers(
        uow, policy, result.members_touched, now, spend=spend, booked=booked + booked_refunds
    )
    if booked or booked_refunds:
        # One event per call (an import chunk): its handlers work in bulk, not per receipt.
        await uow.record(ReceiptsBooked(at=now, receipts=tuple(booked + booked_refunds)))
    return result


async def _book_refunds(
    uow: UnitOfWork,
    refunds: Sequence[Receipt],
    sale_entries: Sequence[LedgerEntry],
    now: datetime,
    result: BookingResult,
) -> tuple[list[Receipt], list[LedgerEntry]]:
    """The refunds of one chunk, in file order, from three bulk look-ups (their original
    receipts, what was refunded of them before, their members' ledgers): the refund receipts to
    add and the ledger entries to append (expirations that were due, points taken back).

    Each refund sees the ones before it in the chunk, as if they were booked one at a time."""
    originals, already = await refund_originals(uow, refunds)
    ledgers = await uow.ledger.entries_for_many({r.member_id for r in refunds})
    for entry in sale_entries:  # this chunk's sales are not in the ledger yet
        if entry.member_id in ledgers:
            ledgers[entry.member_id].append(entry)
    booked: list[Receipt] = []
    entries: list[LedgerEntry] = []
    for refund in refunds:
        original, before, problem = _judge_refund(refund, originals, already)
        if problem:
            result.rejected.append(RejectedReceipt(refund.receipt_no, problem))
            continue
        assert original is not None
        # Rounded on the running total, so partial refunds that add up to the whole receipt
        # take back all of its points (rounding each part down would leave a point behind).
        wanted = _share_of_points(original, -(before + refund.amount)) - _share_of_points(
            original, -before
        )
        held = ledgers.setdefault(refund.member_id, [])
        ledger = PointsLedger(refund.member_id, held)
        due = ledger.due_expirations(now)
        if due:
            held.extend(due)
            entries.extend(due)
            ledger = PointsLedger(refund.member_id, held)
        taken = min(wanted, ledger.available(now))
        receipt = _with_points(refund, -taken)
        booked.append(receipt)
        originals[refund.receipt_no] = receipt  # a refund of this refund is refused below
        already[original.receipt_no] = before + refund.amount
        if taken > 0:
            entry = LedgerEntry(
                member_id=refund.member_id,
                kind=EntryKind.ADJUST,
                points=-taken,
                source_key=f"refund:{refund.receipt_no}",
                occurred_at=now,  # taken back when booked, from points valid then
                note=f"refund of {original.receipt_no}",
            )
            held.append(entry)
            entries.append(entry)
        result.inserted += 1
        result.points_taken_back += taken
        result.members_touched.add(refund.member_id)
    return booked, entries


async def refund_originals(
    uow: UnitOfWork,
    refunds: Sequence[Receipt],
    known: Mapping[str, Receipt] | None = None,
    refunded_before: Mapping[str, Decimal] | None = None,
) -> tuple[dict[str, Receipt], dict[str, Decimal]]:
    """The original receipts of these refunds by number, and what was refunded of each so far
    (zero or negative): from `known` (an import's sales not written yet) first, the stored
    receipts otherwise, in two bulk reads whatever the number of refunds; `refunded_before`
    adds refunds counted but not written yet."""
    numbers = {r.original_receipt_no for r in refunds if r.original_receipt_no}
    originals = {n: known[n] for n in numbers if known and n in known}
    stored = await uow.receipts.get_many(numbers - originals.keys())
    already = await uow.receipts.refunded_many(stored)  # negative or zero, by original
    originals.update(stored)
    for number, amount in (refunded_before or {}).items():
        if number in originals:
            already[number] = already.get(number, Decimal(0)) + amount
    return originals, already


async def check_refunds(
    uow: UnitOfWork,
    refunds: Sequence[Receipt],
    known: Mapping[str, Receipt],
    refunded: dict[str, Decimal],
) -> list[RejectedReceipt]:
    """The refunds booking would refuse, found without writing (an import's --strict check):
    the originals are `known` (the file's sales) or stored; `refunded` holds what the refunds
    checked before took back, by original, and gains these. The rule is booking's own."""
    originals, already = await refund_originals(uow, refunds, known, refunded)
    rejected: list[RejectedReceipt] = []
    for refund in refunds:
        original, before, problem = _judge_refund(refund, originals, already)
        if problem:
            rejected.append(RejectedReceipt(refund.receipt_no, problem))
            continue
        assert original is not None
        originals[refund.receipt_no] = refund  # a refund of this refund is refused
        already[original.receipt_no] = before + refund.amount
        refunded[original.receipt_no] = refunded.get(original.receipt_no, Decimal(0)) + (
            refund.amount
        )
    return rejected


def _judge_refund(
    refund: Receipt, originals: Mapping[str, Receipt], already: Mapping[str, Decimal]
) -> tuple[Receipt | None, Decimal, str | None]:
    """A refund's original receipt, what refunds before took back from it (`already`, zero or
    negative), and why the refund cannot be booked (None when it can)."""
    original = originals.get(refund.original_receipt_no or "")
    before = already.get(original.receipt_no, Decimal(0)) if original else Decimal(0)
    return original, before, refund_problem(refund, original, before)


def refund_problem(refund: Receipt, original: Receipt | None, before: Decimal) -> str | None:
    """Why a refund cannot be booked, as a sentence; None when it can. `before` is what
    refunds booked before took back from the original (zero or negative)."""
    if not refund.original_receipt_no:
        return "a negative amount needs original_receipt_no"
    if original is None:
        return f"original receipt {refund.original_receipt_no} is unknown"
    if original.member_id != refund.member_id:
        return f"original receipt {refund.original_receipt_no} belongs to another member"
    if original.is_refund:
        return f"receipt {refund.original_receipt_no} is itself a refund"
    if -(before + refund.amount) > original.amount:
        return (
            f"refund of {-refund.amount} exceeds what is left of receipt "
            f"{original.receipt_no} ({original.amount + before})"
        )
    return None


def _share_of_points(original: Receipt, refunded: Decimal) -> int:
    """The points of `original` that belong to `refunded` of its amount, rounded down."""
    if original.amount <= 0:
        return 0
    share = Decimal(original.points) * refunded / original.amount
    return int(share.to_integral_value(rounding=ROUND_FLOOR))


def _with_points(receipt: Receipt, points: int) -> Receipt:
    """A copy of `receipt` with its points. Copied field by field rather than through the
    frozen dataclass's __init__ (one object.__setattr__ per field): an import copies one per
    receipt, and this was a tenth of booking's time."""
    copy = object.__new__(Receipt)
    copy.__dict__.update(receipt.__dict__)
    copy.__dict__["points"] = points
    return copy


class RollingSpend:
    """Members' receipt totals over the rolling window that ends at `now`, carried from one
    chunk of an import to the next. A member's total is read from the stored receipts the first
    time the member is touched and kept after by adding what each chunk books, so a chunk reads
    only the members new to the import instead of summing everyone's year again (with 100,000
    receipts, that read was the import's largest statement).

    Right while no one else books receipts for these members during the import; a chunk that
    fails ends the import, and the totals with it."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.since = now - ROLLING_WINDOW
        self._totals: dict[int, Decimal] = {}

    async def totals(
        self, uow: UnitOfWork, member_ids: Sequence[int], booked: Sequence[Receipt]
    ) -> dict[int, Decimal]:
        """The totals of `member_ids` now that `booked` (stored in this transaction) are in."""
        known = self._totals
        for receipt in booked:  # before reading: the members read below include `booked`
            if receipt.member_id in known and receipt.occurred_at >= self.since:
                known[receipt.member_id] += receipt.amount
        missing = [member_id for member_id in member_ids if member_id not in known]
        if missing:
            read = await uow.receipts.spend_since(missing, self.since)
            for member_id in missing:
                known[member_id] = read.get(member_id, Decimal(0))
        return {member_id: known[member_id] for member_id in member_ids}


async def recompute_tiers(
    uow: UnitOfWork,
    policy: Policy,
    member_ids: Iterable[int],
    now: datetime,
    *,
    spend: RollingSpend | None = None,
    booked: Sequence[Receipt] = (),
) -> None:
    """Set each member's tier from their spend over the last 12 months (refunds subtract, and
    never below zero). `spend` (with `booked`, the receipts just stored) is an import's running
    totals for the same `now`."""
    ids = list(member_ids)
    if not ids:
        return
    if spend is not None and spend.now == now:
        totals = await spend.totals(uow, ids, booked)
    else:
        totals = await uow.receipts.spend_since(ids, now - ROLLING_WINDOW)
    tiers: dict[int, tuple[str, Decimal]] = {}
    for member_id in ids:
        amount = max(Decimal(0), totals.get(member_id, Decimal(0)))
        tiers[member_id] = (policy.tier_for_spend(amount).key, amount)
    await uow.members.set_tiers(tiers)
