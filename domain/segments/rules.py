"""Pure decisions of segments: RFM scores (quintiles or fixed cut points), the named segment of
an R and F pair, and the lifecycle stage; on numpy arrays, since a refresh scores every member.

Quintiles and ties: a member's F (or M) score is 1 + floor(5 × s / n), where s is how many
scored members have a strictly smaller value and n how many are scored; R counts the members
with a strictly longer time since their last purchase. Members with equal values therefore get
equal scores, the scores run 1 to 5, and a value shared by many members (a single purchase is
the most common frequency) does not spill into two scores. The price is that the five scores
are not always the same size.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from domain.segments.model import Lifecycle, MemberSegment
from domain.segments.policy import NamedSegment, SegmentPolicy

Ints = NDArray[np.int64]
Values = Sequence[float] | NDArray[Any]  # numbers of any dtype

# Lifecycle stages as small integers in the arrays, in this order.
STAGES = (
    Lifecycle.PROSPECT,
    Lifecycle.NEW,
    Lifecycle.ACTIVE,
    Lifecycle.AT_RISK,
    Lifecycle.LAPSED,
    Lifecycle.LOST,
)


def quintile_scores(values: Values, higher_is_better: bool = True) -> Ints:
    """Scores 1-5 by quintiles of `values`, equal values scoring equally (see module doc)."""
    v = np.asarray(values, dtype=np.float64)
    n = v.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ordered = np.sort(v)
    if higher_is_better:
        beaten = np.searchsorted(ordered, v, side="left")  # strictly smaller values
    else:
        beaten = n - np.searchsorted(ordered, v, side="right")  # strictly larger values
    scores: Ints = 1 + (5 * beaten.astype(np.int64)) // n
    return scores


def threshold_scores(
    values: Values, cuts: Sequence[float], higher_is_better: bool = True
) -> Ints:
    """Scores 1-5 by four cut points. Higher is better (frequency, monetary): below the first
    cut 1, at or above the last 5. Lower is better (recency in days): at or below the first cut
    5, above the last 1."""
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(cuts, dtype=np.float64)
    if higher_is_better:
        scores: Ints = 1 + np.searchsorted(c, v, side="right").astype(np.int64)
    else:
        scores = 5 - np.searchsorted(c, v, side="left").astype(np.int64)
    return scores


def rfm_scores(
    policy: SegmentPolicy,
    recency_days: Values,
    frequency: Values,
    monetary_cents: Values,
) -> tuple[Ints, Ints, Ints]:
    """R, F and M of the scored members (those with a purchase in the window) by the policy's
    method; monetary in cents, the policy's cut points in currency units."""
    if policy.method == "thresholds":
        money_cuts = [float(m * 100) for m in policy.monetary]
        return (
            threshold_scores(recency_days, policy.recency_days, higher_is_better=False),
            threshold_scores(frequency, policy.frequency),
            threshold_scores(monetary_cents, money_cuts),
        )
    return (
        quintile_scores(recency_days, higher_is_better=False),
        quintile_scores(frequency),
        quintile_scores(monetary_cents),
    )


def segment_grid(segments: Sequence[NamedSegment]) -> list[list[str | None]]:
    """grid[r][f]: the key of the first segment covering R=r and F=f (None: none does)."""
    grid: list[list[str | None]] = [[None] * 6 for _ in range(6)]
    for r in range(1, 6):
        for f in range(1, 6):
            grid[r][f] = next((s.key for s in segments if r in s.r and f in s.f), None)
    return grid


def segment_of(segments: Sequence[NamedSegment], r: int | None, f: int | None) -> str | None:
    """The named segment of a member's R and F (None when unscored or in no segment)."""
    if r is None or f is None:
        return None
    return segment_grid(segments)[r][f]


def lifecycle_stages(
    policy: SegmentPolicy,
    purchases: Values,
    days_since_first: Values,
    days_since_last: Values,
    span_days: Values,
) -> Ints:
    """Index into STAGES for each member (see domain/segments/policy.py for the stages).

    `span_days` is the time between first and last purchase: with enough purchases, the
    member's usual interval is span / (purchases - 1) and the stages are measured in it.
    """
    n_buys = np.asarray(purchases, dtype=np.float64)
    first = np.asarray(days_since_first, dtype=np.float64)
    last = np.asarray(days_since_last, dtype=np.float64)
    span = np.asarray(span_days, dtype=np.float64)

    active = np.full(n_buys.shape, float(policy.active_days))
    lapsed = np.full(n_buys.shape, float(policy.lapsed_days))
    lost = np.full(n_buys.shape, float(policy.lost_days))
    own = n_buys >= policy.own_interval_min_purchases
    if np.any(own):
        interval = span[own] / np.maximum(n_buys[own] - 1, 1)
        # Never shorter than half the defaults (a holiday is not churn, however often someone
        # shops), never longer than lost_days_max.
        cap = float(policy.lost_days_max)
        own_active = np.clip(policy.active_intervals * interval, policy.active_days / 2, cap)
        own_lapsed = np.clip(policy.lapsed_intervals * interval, policy.lapsed_days / 2, cap)
        own_lost = np.clip(policy.lost_intervals * interval, policy.lost_days / 2, cap)
        lost[own] = own_lost
        lapsed[own] = np.minimum(own_lapsed, own_lost)
        active[own] = np.minimum(own_active, lapsed[own])

    stage = np.full(n_buys.shape, STAGES.index(Lifecycle.LOST), dtype=np.int64)
    stage[last <= lost] = STAGES.index(Lifecycle.LAPSED)
    stage[last <= lapsed] = STAGES.index(Lifecycle.AT_RISK)
    stage[last <= active] = STAGES.index(Lifecycle.ACTIVE)
    is_new = (first <= policy.new_days) & (n_buys <= policy.new_max_purchases)
    stage[is_new] = STAGES.index(Lifecycle.NEW)
    stage[n_buys <= 0] = STAGES.index(Lifecycle.PROSPECT)
    return stage


def lifecycle_of(
    policy: SegmentPolicy,
    purchases: int,
    days_since_first: float | None,
    days_since_last: float | None,
    span_days: float = 0.0,
) -> Lifecycle:
    """One member's lifecycle stage (the array version, for one)."""
    if purchases <= 0 or days_since_first is None or days_since_last is None:
        return Lifecycle.PROSPECT
    stage = lifecycle_stages(
        policy, [purchases], [days_since_first], [days_since_last], [span_days]
    )
    return STAGES[int(stage[0])]


def is_high_value(policy: SegmentPolicy, m: int | None) -> bool:
    """High-value: an M score at or above the policy's (unscored members are not)."""
    return m is not None and m >= policy.high_value_min_m


def churn_flag(
    policy: SegmentPolicy,
    high_value: bool,
    p_alive: float | None,
    stage: Lifecycle,
    repeat_purchases: int,
) -> bool:
    """A high-value member the chain is about to lose: P(alive) below the threshold, or, where
    there is no P(alive) (no model fitted) or it cannot tell (one purchase: BG/NBD cannot see a
    member leave before they come back once), a lifecycle stage of at risk or lapsed."""
    if not high_value:
        return False
    if p_alive is not None and repeat_purchases > 0:
        return p_alive < policy.p_alive_threshold
    return stage in (Lifecycle.AT_RISK, Lifecycle.LAPSED)


def churn_flags(
    policy: SegmentPolicy,
    high_value: NDArray[np.bool_],
    p_alive: NDArray[np.float64],
    stages: Ints,
    repeat_purchases: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """`churn_flag` for every member at once (P(alive) NaN where there is none, stages as
    indexes into STAGES)."""
    model_tells = ~np.isnan(p_alive) & (repeat_purchases >= 1)
    below = np.less(p_alive, policy.p_alive_threshold, where=model_tells, out=np.zeros_like(
        model_tells
    ))
    quiet = np.isin(stages, [STAGES.index(Lifecycle.AT_RISK), STAGES.index(Lifecycle.LAPSED)])
    flags: NDArray[np.bool_] = high_value & np.where(model_tells, below, quiet)
    return flags


def money(cents: int) -> Decimal:
    return Decimal(cents) / 100


def describe(segment: MemberSegment | None, policy: SegmentPolicy) -> dict[str, str]:
    """What staff see of a member's figures, in en and zh: segment, lifecycle, P(alive) and the
    churn warning ("Champions · active · P(alive) 0.93"); "-" before the first refresh."""
    if segment is None:
        return {"en": "-", "zh": "-"}
    texts: dict[str, str] = {}
    for lang, alive, warning in (
        ("en", "P(alive)", "⚠️ churn risk"),
        ("zh", "存活概率", "⚠️ 流失预警"),
    ):
        parts = [
            policy.segment_name(segment.segment, lang) or "-",
            policy.lifecycle_name(segment.lifecycle.value, lang),
        ]
        if segment.p_alive is not None:
            parts.append(f"{alive} {segment.p_alive:.2f}")
        if segment.churn_flag:
            parts.append(warning)
        texts[lang] = " · ".join(parts)
    return texts
