"""What segments tell other features: a member's lifecycle stage or named segment changed."""

from __future__ import annotations

from dataclasses import dataclass

from domain.segments.model import Lifecycle
from domain.shared.events import Event


@dataclass(frozen=True)
class LifecycleChanged(Event):
    """A refresh moved a member to another lifecycle stage (`old` is None the first time)."""

    member_id: int
    old: Lifecycle | None
    new: Lifecycle
    high_value: bool
    churn_flag: bool


@dataclass(frozen=True)
class SegmentChanged(Event):
    """A refresh moved a member to another named segment (None: in no segment)."""

    member_id: int
    old: str | None
    new: str | None


@dataclass(frozen=True)
class MembersMoved(Event):
    """A slice of a refresh: the stage and segment moves of its members, recorded once per
    slice so that a subscriber reads what it needs for all of them in a few queries (a
    nightly refresh of a chain moves thousands of members)."""

    lifecycles: tuple[LifecycleChanged, ...]
    segments: tuple[SegmentChanged, ...]
