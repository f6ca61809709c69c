"""Calendar arithmetic behind expiry dates and 'today in the store'."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.shared.clock import FixedClock, add_months, local_today


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), 1, datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2028, 1, 31, 9, tzinfo=UTC), 1, datetime(2028, 2, 29, 9, tzinfo=UTC)),
        (datetime(2026, 3, 15, tzinfo=UTC), 12, datetime(2027, 3, 15, tzinfo=UTC)),
        (datetime(2026, 11, 30, tzinfo=UTC), 3, datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2026, 12, 1, tzinfo=UTC), 1, datetime(2027, 1, 1, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), -1, datetime(2025, 12, 15, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), 12, datetime(2025, 2, 28, tzinfo=UTC)),
    ],
)
def test_points_earned_on_a_day_expire_on_the_same_day_months_later_or_the_months_end(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start, months) == expected


def test_today_is_the_stores_day_not_the_servers() -> None:
    clock = FixedClock(datetime(2026, 6, 15, 17, 30, tzinfo=UTC))  # 01:30 next day in Shanghai
    assert local_today(clock, "Asia/Shanghai") == date(2026, 6, 16)
    assert local_today(clock, "Europe/London") == date(2026, 6, 15)


def test_a_fixed_clock_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 6, 15, 10, 0))
