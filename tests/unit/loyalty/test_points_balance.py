"""The points summary kept beside the ledger says what replaying the whole ledger says, however
the entries arrive: in order, in bursts, expiring, spent, or booked late."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from domain.loyalty.model import EntryKind, LedgerEntry, PointsBalance, summarise

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _shape(b: PointsBalance) -> tuple[object, ...]:
    return (
        b.balance,
        b.entries,
        b.as_of,
        [(lot.source_key, lot.earned_at, lot.expires_at, lot.remaining) for lot in b.lots],
        [(e.occurred_at, e.kind, e.points, e.source_key) for e in b.recent],
    )


def _entries(rng: random.Random, count: int) -> list[LedgerEntry]:
    """A member's year: awards that expire, redemptions never above what is there."""
    out: list[LedgerEntry] = []
    balance = 0
    at = T0
    for i in range(count):
        at += timedelta(hours=rng.randint(1, 200))
        if balance > 20 and rng.random() < 0.3:
            spend = rng.randint(1, balance // 2)
            out.append(LedgerEntry(1, EntryKind.REDEEM, -spend, f"r{i}", at))
            balance -= spend
        else:
            points = rng.randint(1, 100)
            out.append(LedgerEntry(1, EntryKind.EARN, points, f"e{i}", at,
                                   expires_at=at + timedelta(days=rng.randint(30, 400))))
            balance += points
    return out


def test_a_summary_kept_entry_by_entry_equals_the_replayed_ledger() -> None:
    rng = random.Random(13)
    for _ in range(50):
        entries = _entries(rng, rng.randint(1, 60))
        kept = summarise(1, [])
        for start in range(0, len(entries), 7):  # appended in bursts, as receipts arrive
            after = kept.advanced(entries[start : start + 7])
            assert after is not None
            kept = after
        assert _shape(kept) == _shape(summarise(1, entries))


def test_expiry_booked_from_the_summary_leaves_it_equal_to_the_replay() -> None:
    rng = random.Random(7)
    entries = _entries(rng, 40)
    now = entries[-1].occurred_at + timedelta(days=200)
    summary = summarise(1, entries)
    due = summary.due_expirations(now)
    assert due and all(e.points < 0 and e.source_key.startswith("expire:") for e in due)
    # An expiry is booked at the lot's own expiry time, older than the last entry: the
    # summary asks for a replay rather than guess.
    assert summary.advanced(due) is None
    after = summarise(1, entries + due)
    assert after.due_expirations(now) == []
    assert after.balance == summary.balance + sum(e.points for e in due)
    assert after.expiring_within(now, 30) == 0 or after.lots


def test_an_entry_booked_late_needs_a_replay() -> None:
    early = LedgerEntry(1, EntryKind.EARN, 10, "late", T0)
    summary = summarise(1, [LedgerEntry(1, EntryKind.EARN, 5, "first", T0 + timedelta(days=1))])
    assert summary.advanced([early]) is None
    assert summary.advanced([]) is summary
