"""The points ledger: append-only entries, oldest-first consumption and expiry per award."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


class EntryKind(enum.StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    ADJUST = "adjust"


@dataclass(frozen=True)
class LedgerEntry:
    """One change of a member's points; `source_key` is unique so nothing is booked twice."""

    member_id: int
    kind: EntryKind
    points: int
    source_key: str
    occurred_at: datetime
    expires_at: datetime | None = None
    note: str = ""
    id: int | None = None


@dataclass
class Lot:
    """Points from one award that are still there, and when they expire."""

    source_key: str
    earned_at: datetime
    expires_at: datetime | None
    remaining: int


EXPIRE_PREFIX = "expire:"


class PointsLedger:
    """A member's ledger replayed in time order.

    Awards (earn, positive adjust) form lots; spending (redeem, negative adjust) takes from the
    oldest lot still valid at that moment; an expire entry empties the lot it names. Replaying
    is cheap for one member and keeps the ledger the only source of truth.
    """

    def __init__(self, member_id: int, entries: list[LedgerEntry]) -> None:
        self.member_id = member_id
        self.entries = sorted(entries, key=lambda e: (e.occurred_at, e.id or 0))
        self.lots = self._replay()

    def _replay(self) -> list[Lot]:
        lots: list[Lot] = []
        replay_onto(lots, self.entries)
        return lots

    @property
    def balance(self) -> int:
        """Points as booked: the sum of every entry."""
        return sum(e.points for e in self.entries)

    def available(self, at: datetime) -> int:
        """Points that can be spent at `at`: lots not yet expired."""
        return sum(
            lot.remaining for lot in self.lots if not _expired(lot, at) and lot.remaining > 0
        )

    def due_expirations(self, at: datetime) -> list[LedgerEntry]:
        """Expire entries to append for lots whose time has come and that still hold points."""
        booked = {e.source_key for e in self.entries if e.kind is EntryKind.EXPIRE}
        due = []
        for lot in self.lots:
            key = EXPIRE_PREFIX + lot.source_key
            if lot.remaining > 0 and _expired(lot, at) and key not in booked:
                due.append(_expire_entry(self.member_id, lot))
        return due

    def expiring_within(self, at: datetime, days: int) -> int:
        """Points that will expire in the next `days` days unless spent."""
        return _expiring_within(self.lots, at, days)

    def recent(self, count: int) -> list[LedgerEntry]:
        return list(reversed(self.entries[-count:]))


def replay_onto(lots: list[Lot], entries: list[LedgerEntry]) -> None:
    """Apply `entries` (in time order) to `lots`: the one replay both the full ledger and the
    maintained summary use, so the two cannot disagree on the rules."""
    by_key = {lot.source_key: lot for lot in lots}
    for entry in entries:
        if entry.points > 0:
            lot = Lot(entry.source_key, entry.occurred_at, entry.expires_at, entry.points)
            lots.append(lot)
            by_key[entry.source_key] = lot
        elif entry.kind is EntryKind.EXPIRE:
            target = by_key.get(entry.source_key.removeprefix(EXPIRE_PREFIX))
            if target is not None:
                target.remaining += entry.points
        elif entry.points < 0:
            need = -entry.points
            for lot in lots:
                if need == 0:
                    break
                if lot.remaining <= 0 or _expired(lot, entry.occurred_at):
                    continue
                take = min(need, lot.remaining)
                lot.remaining -= take
                need -= take


RECENT_KEPT = 5  # entries the summary keeps for /points


@dataclass
class PointsBalance:
    """A member's ledger summed up and kept beside it: what /points needs without a replay.

    Written in the same transaction as every ledger append (storage/loyalty/repository.py);
    when present it always equals `summarise` of the whole ledger, which tests check. Only
    lots still holding points are kept: a spent or expired lot can no longer change anything.
    """

    member_id: int
    balance: int
    lots: list[Lot]  # awards still holding points, oldest first
    recent: list[LedgerEntry]  # the latest entries, newest first
    as_of: datetime | None  # when the latest entry occurred
    entries: int

    def due_expirations(self, at: datetime) -> list[LedgerEntry]:
        """Expire entries to append for lots whose time has come (as PointsLedger's)."""
        return [
            _expire_entry(self.member_id, lot)
            for lot in self.lots
            if lot.remaining > 0 and _expired(lot, at)
        ]

    def expiring_within(self, at: datetime, days: int) -> int:
        """Points that will expire in the next `days` days unless spent."""
        return _expiring_within(self.lots, at, days)

    def advanced(self, new_entries: list[LedgerEntry]) -> PointsBalance | None:
        """The summary after appending `new_entries`, or None when one of them is older than
        the latest entry already summed up (then only a full replay is right)."""
        ordered = sorted(new_entries, key=lambda e: e.occurred_at)
        if not ordered:
            return self
        if self.as_of is not None and ordered[0].occurred_at < self.as_of:
            return None
        lots = [Lot(lot.source_key, lot.earned_at, lot.expires_at, lot.remaining)
                for lot in self.lots]
        replay_onto(lots, ordered)
        return PointsBalance(
            member_id=self.member_id,
            balance=self.balance + sum(e.points for e in ordered),
            lots=[lot for lot in lots if lot.remaining > 0],
            recent=(list(reversed(ordered)) + self.recent)[:RECENT_KEPT],
            as_of=ordered[-1].occurred_at,
            entries=self.entries + len(ordered),
        )


def summarise(member_id: int, entries: list[LedgerEntry]) -> PointsBalance:
    """The summary of a whole ledger, by replaying it."""
    ledger = PointsLedger(member_id, entries)
    return PointsBalance(
        member_id=member_id,
        balance=ledger.balance,
        lots=[lot for lot in ledger.lots if lot.remaining > 0],
        recent=ledger.recent(RECENT_KEPT),
        as_of=ledger.entries[-1].occurred_at if ledger.entries else None,
        entries=len(ledger.entries),
    )


def _expired(lot: Lot, at: datetime) -> bool:
    return lot.expires_at is not None and lot.expires_at <= at


def _expire_entry(member_id: int, lot: Lot) -> LedgerEntry:
    """The entry that takes an expired lot's remaining points away, dated when it expired."""
    assert lot.expires_at is not None
    return LedgerEntry(
        member_id=member_id,
        kind=EntryKind.EXPIRE,
        points=-lot.remaining,
        source_key=EXPIRE_PREFIX + lot.source_key,
        occurred_at=lot.expires_at,
        note="expired",
    )


def _expiring_within(lots: list[Lot], at: datetime, days: int) -> int:
    """Points of `lots` that will expire in the next `days` days unless spent."""
    horizon = at + timedelta(days=days)
    return sum(
        lot.remaining
        for lot in lots
        if lot.remaining > 0 and lot.expires_at is not None and at < lot.expires_at <= horizon
    )


@dataclass(frozen=True)
class Receipt:
    """One till receipt; a refund has a negative amount and names the original receipt."""

    receipt_no: str
    store_id: int
    member_id: int
    occurred_at: datetime
    amount: Decimal
    currency: str
    original_receipt_no: str | None = None
    points: int = 0
    id: int | None = None

    @property
    def is_refund(self) -> bool:
        return self.amount < 0
