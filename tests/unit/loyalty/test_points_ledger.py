"""The points ledger: oldest points are used first, each award expires on its own date, and a
balance never goes below zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.loyalty.model import EntryKind, LedgerEntry, PointsLedger

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def earn(points: int, key: str, at: datetime, months_valid: int = 12) -> LedgerEntry:
    return LedgerEntry(
        1, EntryKind.EARN, points, key, at, expires_at=at + timedelta(days=30 * months_valid)
    )


def spend(points: int, key: str, at: datetime) -> LedgerEntry:
    return LedgerEntry(1, EntryKind.REDEEM, -points, key, at)


def test_spending_takes_the_oldest_points_first() -> None:
    ledger = PointsLedger(
        1,
        [
            earn(100, "receipt:A", T0),
            earn(50, "receipt:B", T0 + timedelta(days=10)),
            spend(120, "redeem:1", T0 + timedelta(days=20)),
        ],
    )
    remaining = {lot.source_key: lot.remaining for lot in ledger.lots}
    assert remaining == {"receipt:A": 0, "receipt:B": 30}
    assert ledger.balance == 30


def test_each_award_expires_on_its_own_date_and_only_what_is_left_of_it() -> None:
    ledger = PointsLedger(
        1,
        [
            earn(100, "receipt:A", T0, months_valid=1),
            earn(50, "receipt:B", T0 + timedelta(days=10), months_valid=12),
            spend(30, "redeem:1", T0 + timedelta(days=5)),
        ],
    )
    after_a = T0 + timedelta(days=31)
    assert ledger.available(T0 + timedelta(days=11)) == 120
    assert ledger.available(after_a) == 50
    due = ledger.due_expirations(after_a)
    assert [(e.source_key, e.points) for e in due] == [("expire:receipt:A", -70)]


def test_an_expiry_is_booked_once_however_often_it_is_checked() -> None:
    entries = [earn(100, "receipt:A", T0, months_valid=1)]
    later = T0 + timedelta(days=40)
    due = PointsLedger(1, entries).due_expirations(later)
    replayed = PointsLedger(1, entries + due)
    assert replayed.due_expirations(later + timedelta(days=1)) == []
    assert replayed.balance == 0
    assert replayed.available(later) == 0


def test_points_spent_from_an_expired_award_are_not_possible() -> None:
    # A redemption after A expired must come from B, leaving A's points to expire untouched.
    ledger = PointsLedger(
        1,
        [
            earn(100, "receipt:A", T0, months_valid=1),
            earn(40, "receipt:B", T0 + timedelta(days=20)),
            spend(40, "redeem:1", T0 + timedelta(days=35)),
        ],
    )
    remaining = {lot.source_key: lot.remaining for lot in ledger.lots}
    assert remaining == {"receipt:A": 100, "receipt:B": 0}
    assert ledger.available(T0 + timedelta(days=35)) == 0


def test_points_expiring_soon_are_counted_for_the_reminder() -> None:
    ledger = PointsLedger(
        1, [earn(100, "receipt:A", T0, months_valid=1), earn(40, "receipt:B", T0)]
    )
    assert ledger.expiring_within(T0 + timedelta(days=10), days=30) == 100
    assert ledger.expiring_within(T0 + timedelta(days=10), days=5) == 0


def test_recent_entries_are_newest_first() -> None:
    entries = [earn(10 * i, f"receipt:{i}", T0 + timedelta(days=i)) for i in range(1, 8)]
    recent = PointsLedger(1, entries).recent(3)
    assert [e.source_key for e in recent] == ["receipt:7", "receipt:6", "receipt:5"]
