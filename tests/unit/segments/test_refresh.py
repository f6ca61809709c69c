"""A refresh in memory: statistics from bookings, scores, the churn model or its fallback, and
the moves and events between two refreshes (on a small fake of the repository)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.loyalty.events import ReceiptsBooked
from domain.loyalty.model import Receipt
from domain.segments.events import LifecycleChanged, MembersMoved, SegmentChanged
from domain.segments.model import Lifecycle, MemberSegment
from domain.segments.policy import SegmentPolicy
from domain.segments.services import compute_refresh, stats_deltas, write_slice
from domain.segments.views import RefreshRecord, StatsColumns
from domain.shared.events import Event

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
DAY = 86_400.0


def receipt(no: str, member: int, days_ago: float, amount: str, original: str | None = None
            ) -> Receipt:
    return Receipt(no, 1, member, NOW - timedelta(days=days_ago), Decimal(amount), "CNY",
                   original)


def test_a_refund_lowers_spend_but_is_no_purchase_and_old_receipts_stay_out_of_the_window(
) -> None:
    booked = ReceiptsBooked(
        at=NOW,
        receipts=(
            receipt("A1", 1, 400, "100.00"),  # before the window
            receipt("A2", 1, 10, "50.00"),
            receipt("A2-R", 1, 2, "-20.00", "A2"),
            receipt("B1", 2, 3, "9.90"),
        ),
    )
    one, two = stats_deltas(booked, NOW - timedelta(days=365))
    assert (one.purchases, one.spend_cents) == (2, 13_000)
    assert (one.window_purchases, one.window_spend_cents) == (1, 3_000)
    assert one.first_purchase_at == NOW - timedelta(days=400)
    assert one.last_purchase_at == NOW - timedelta(days=10)  # a refund is not a visit
    assert (two.member_id, two.purchases, two.window_spend_cents) == (2, 1, 990)
    # Before the first refresh there is no window yet: the refresh builds it from receipts.
    assert stats_deltas(booked, None)[0].window_purchases == 0


def columns(rows: Sequence[tuple[int, float | None, float | None, int, int, int]]
            ) -> StatsColumns:
    """(member id, days since first, days since last, purchases, window purchases, window
    spend in cents) per member."""
    out = StatsColumns()
    for member_id, first, last, purchases, w_purchases, w_spend in rows:
        out.member_ids.append(member_id)
        out.first_purchase_at.append(None if first is None else NOW.timestamp() - first * DAY)
        out.last_purchase_at.append(None if last is None else NOW.timestamp() - last * DAY)
        out.purchases.append(purchases)
        out.window_purchases.append(w_purchases)
        out.window_spend_cents.append(w_spend)
    return out


RECORD = RefreshRecord(NOW, NOW - timedelta(days=365), "quintiles", 0, 0, "pending", id=1)
SMALL_SHOP = columns(
    [
        (1, 300, 2, 40, 30, 900_000),
        (2, 300, 200, 12, 3, 20_000),
        (3, 5, 5, 1, 1, 5_000),
        (4, None, None, 0, 0, 0),
        (5, 500, 400, 3, 0, 0),
    ]
)


def test_with_too_few_repeat_buyers_the_refresh_says_so_and_uses_the_lifecycle_rules() -> None:
    plan = compute_refresh(SegmentPolicy(), SMALL_SHOP, {}, RECORD, NOW)
    assert plan.record.model == "fallback"
    assert "too little data" in plan.record.note
    by_id = {s.member_id: s for s in plan.segments}
    assert all(s.p_alive is None for s in plan.segments)
    # Three scored members: the best beats two of three, 1 + floor(5 × 2 / 3) = 4.
    assert (by_id[1].r, by_id[1].f, by_id[1].segment) == (4, 4, "loyal")
    assert by_id[1].lifecycle is Lifecycle.ACTIVE
    assert by_id[3].lifecycle is Lifecycle.NEW
    assert by_id[4].lifecycle is Lifecycle.PROSPECT and by_id[4].segment is None
    # Bought, but not within the window: a lifecycle stage, no RFM segment.
    assert by_id[5].lifecycle is Lifecycle.LOST and by_id[5].r is None
    assert by_id[5].segment is None and by_id[5].recency_days == 400
    assert plan.record.scored == 3 and plan.record.members == 5


def test_with_enough_repeat_buyers_each_buyer_gets_p_alive_and_expected_purchases() -> None:
    rows = [
        (i, 200 + i % 50, (i * 7) % 180, 2 + i % 9, 1 + i % 5, 1000 * (1 + i % 40))
        for i in range(1, 401)
    ]
    plan = compute_refresh(SegmentPolicy(), columns(rows), {}, RECORD, NOW)
    assert plan.record.model == "bgnbd", plan.record.note
    assert plan.record.log_likelihood is not None and plan.record.bg_r is not None
    assert all(0 <= (s.p_alive or 0) <= 1 for s in plan.segments)
    assert all((s.expected_purchases_90d or 0) >= 0 for s in plan.segments)


class FakeSegments:
    def __init__(self) -> None:
        self.rows: dict[int, MemberSegment] = {}

    async def write(self, segments: Sequence[MemberSegment]) -> None:
        self.rows.update((s.member_id, s) for s in segments)


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.segments = FakeSegments()
        self.recorded: list[Event] = []

    async def record(self, event: Event) -> None:
        self.recorded.append(event)


async def test_the_first_refresh_is_a_start_and_the_next_records_only_real_changes() -> None:
    uow = FakeUnitOfWork()
    first = compute_refresh(SegmentPolicy(), SMALL_SHOP, {}, RECORD, NOW)
    assert await write_slice(uow, first, 0, 5) == 0  # type: ignore[arg-type]
    assert first.moves == []

    previous = {s.member_id: (s.segment, s.lifecycle.value) for s in first.segments}
    later = NOW + timedelta(days=40)
    changed = replace(SMALL_SHOP)  # the same members, forty days on, nobody bought
    second = compute_refresh(SegmentPolicy(), changed, previous, replace(RECORD, id=2), later)
    await write_slice(uow, second, 0, 5)  # type: ignore[arg-type]
    # One event for the slice, with every member's move in it.
    assert len(uow.recorded) == 1 and isinstance(uow.recorded[0], MembersMoved)
    stages = list(uow.recorded[0].lifecycles)
    segments = list(uow.recorded[0].segments)
    assert all(isinstance(e, LifecycleChanged) for e in stages)
    assert all(isinstance(e, SegmentChanged) for e in segments)
    # Member 1 shops weekly: 42 days away is lapsed for them; member 3 is no longer new.
    assert {(e.member_id, e.old, e.new) for e in stages} == {
        (1, Lifecycle.ACTIVE, Lifecycle.LAPSED),
        (3, Lifecycle.NEW, Lifecycle.AT_RISK),
    }
    assert {e.member_id for e in segments} <= {1, 2, 3}
    assert all(e.old != e.new for e in segments)
    lifecycle_moves = {(m.old, m.new): m.members for m in second.moves if m.kind == "lifecycle"}
    assert lifecycle_moves == {("active", "lapsed"): 1, ("new", "at_risk"): 1}
