"""Values of the segments feature: lifecycle stages, purchase statistics, a member's scores."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


class Lifecycle(enum.StrEnum):
    """Where a member stands in their relationship with the chain."""

    PROSPECT = "prospect"  # joined, never bought
    NEW = "new"  # first purchase recently, few purchases
    ACTIVE = "active"
    AT_RISK = "at_risk"
    LAPSED = "lapsed"
    LOST = "lost"


@dataclass
class MemberStats:
    """A member's purchases, kept current as receipts are booked (refunds netted: a refund
    lowers spend, not the number of purchases, as in the points rules)."""

    member_id: int
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    purchases: int
    spend: Decimal  # all time
    window_purchases: int
    window_spend: Decimal  # within the policy window


@dataclass
class MemberSegment:
    """A member's figures as of the last refresh."""

    member_id: int
    recency_days: int | None
    frequency: int
    monetary: Decimal
    r: int | None
    f: int | None
    m: int | None
    segment: str | None  # a key of the policy's segment map, e.g. "champions"
    lifecycle: Lifecycle
    p_alive: float | None
    expected_purchases_90d: float | None
    churn_flag: bool
    high_value: bool
    refreshed_at: datetime
