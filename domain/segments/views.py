"""Read models of segments: statistics as columns for a refresh, refresh records, sizes, moves
and one member's figures for staff and exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.segments.model import MemberSegment


@dataclass(frozen=True)
class MemberStatsDelta:
    """What one booking adds to a member's statistics (refunds: negative spend, no purchase)."""

    member_id: int
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    purchases: int
    spend_cents: int
    window_purchases: int
    window_spend_cents: int


@dataclass
class StatsColumns:
    """Every member's statistics as parallel columns (a refresh works on a million of them:
    one list per figure is far cheaper than one object per member). Times are seconds since
    the epoch, None where there is none."""

    member_ids: list[int] = field(default_factory=list)
    first_purchase_at: list[float | None] = field(default_factory=list)
    last_purchase_at: list[float | None] = field(default_factory=list)
    purchases: list[int] = field(default_factory=list)
    spend_cents: list[int] = field(default_factory=list)
    window_purchases: list[int] = field(default_factory=list)
    window_spend_cents: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.member_ids)


@dataclass(frozen=True)
class RefreshRecord:
    """One refresh: when, which window and RFM method, and which churn model it used."""

    refreshed_at: datetime
    window_start: datetime
    method: str
    members: int
    scored: int
    model: str  # "bgnbd" or "fallback"
    bg_r: float | None = None
    bg_alpha: float | None = None
    bg_a: float | None = None
    bg_b: float | None = None
    log_likelihood: float | None = None
    note: str = ""
    id: int | None = None


@dataclass(frozen=True)
class SegmentSize:
    """How many members a segment (or lifecycle stage) held after a refresh; key "" is none."""

    kind: str  # "segment" or "lifecycle"
    key: str
    members: int
    monetary_cents: int
    p_alive_sum: float
    p_alive_members: int


@dataclass(frozen=True)
class SegmentMove:
    """How many members moved from `old` to `new` in a refresh (counts only, nobody named)."""

    kind: str
    old: str
    new: str
    members: int


@dataclass(frozen=True)
class MemberFigures:
    """A member's segment figures with their member number, for staff and exports."""

    member_no: str
    segment: MemberSegment


@dataclass(frozen=True)
class OverviewRow:
    """One line of `segments show`: a segment (or stage) after the last refresh."""

    key: str
    name: str
    members: int
    share: float  # of all members, 0-1
    average_spend: Decimal | None  # in the window, per member
    average_p_alive: float | None
    change: int | None  # members since the refresh before; None when there was none


@dataclass(frozen=True)
class Overview:
    """The table `segments show` prints, for segments and for lifecycle stages."""

    record: RefreshRecord
    previous: RefreshRecord | None
    segments: list[OverviewRow]
    stages: list[OverviewRow]
