"""Lifecycle stages at their boundaries: grocery defaults, and a member's own usual interval."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from domain.segments.model import Lifecycle
from domain.segments.policy import SegmentPolicy
from domain.segments.rules import STAGES, churn_flag, churn_flags, lifecycle_of

# New within 30 days and ≤ 2 purchases; active ≤ 30 days, at risk ≤ 60, lapsed ≤ 180.
P = SegmentPolicy()


@pytest.mark.parametrize(
    ("purchases", "since_first", "since_last", "stage"),
    [
        (0, None, None, Lifecycle.PROSPECT),
        (1, 30, 30, Lifecycle.NEW),
        (2, 30, 1, Lifecycle.NEW),
        (1, 31, 31, Lifecycle.AT_RISK),
        (3, 20, 5, Lifecycle.ACTIVE),  # three purchases: no longer new
        (3, 200, 30, Lifecycle.ACTIVE),
        (3, 200, 30.5, Lifecycle.AT_RISK),
        (3, 200, 60, Lifecycle.AT_RISK),
        (3, 200, 61, Lifecycle.LAPSED),
        (3, 300, 180, Lifecycle.LAPSED),
        (3, 300, 181, Lifecycle.LOST),
    ],
)
def test_grocery_defaults_at_their_boundaries(
    purchases: int, since_first: float | None, since_last: float | None, stage: Lifecycle
) -> None:
    assert lifecycle_of(P, purchases, since_first, since_last, span_days=0) is stage


@pytest.mark.parametrize(
    ("since_last", "stage"),
    [
        (40, Lifecycle.ACTIVE),  # 2 intervals of 20 days
        (41, Lifecycle.AT_RISK),
        (80, Lifecycle.AT_RISK),  # 4 intervals
        (81, Lifecycle.LAPSED),
        (160, Lifecycle.LAPSED),  # 8 intervals
        (161, Lifecycle.LOST),
    ],
)
def test_a_member_with_history_is_measured_in_their_own_interval(
    since_last: float, stage: Lifecycle
) -> None:
    # 11 purchases over 200 days: one every 20 days.
    assert lifecycle_of(P, 11, 200 + since_last, since_last, span_days=200) is stage


def test_a_frequent_shopper_is_not_lost_after_a_holiday() -> None:
    # Every other day: 2 intervals are 4 days, but at least half the defaults apply (15/30/90).
    assert lifecycle_of(P, 21, 54, 14, span_days=40) is Lifecycle.ACTIVE
    assert lifecycle_of(P, 21, 60, 20, span_days=40) is Lifecycle.AT_RISK
    assert lifecycle_of(P, 21, 100, 60, span_days=40) is Lifecycle.LAPSED
    assert lifecycle_of(P, 21, 140, 100, span_days=40) is Lifecycle.LOST


def test_nobody_stays_active_after_a_year_away_whatever_their_interval() -> None:
    # One purchase a year: 2 intervals would be two years; lost_days_max (365) caps it.
    assert lifecycle_of(P, 4, 1500, 366, span_days=1095) is Lifecycle.LOST


def test_a_high_value_member_is_flagged_when_their_p_alive_falls_below_the_threshold() -> None:
    assert churn_flag(P, True, 0.49, Lifecycle.ACTIVE, repeat_purchases=5)
    assert not churn_flag(P, True, 0.5, Lifecycle.AT_RISK, repeat_purchases=5)
    assert not churn_flag(P, False, 0.01, Lifecycle.LAPSED, repeat_purchases=5)
    # Without a model, or with one purchase (BG/NBD cannot see them leave): the stage decides.
    assert churn_flag(P, True, None, Lifecycle.AT_RISK, repeat_purchases=5)
    assert churn_flag(P, True, 1.0, Lifecycle.LAPSED, repeat_purchases=0)
    assert not churn_flag(P, True, None, Lifecycle.ACTIVE, repeat_purchases=0)


def test_the_array_churn_flags_agree_with_one_member_s_flag_in_every_case() -> None:
    cases = list(
        itertools.product((True, False), (None, 0.0, 0.49, 0.5, 1.0), STAGES, (0, 1, 5))
    )
    flags = churn_flags(
        P,
        np.array([high for high, _, _, _ in cases]),
        np.array([np.nan if p is None else p for _, p, _, _ in cases]),
        np.array([STAGES.index(stage) for _, _, stage, _ in cases]),
        np.array([float(repeat) for _, _, _, repeat in cases]),
    )
    assert flags.tolist() == [churn_flag(P, *case) for case in cases]
