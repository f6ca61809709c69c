"""What the segments feature needs from storage: purchase statistics, scores and refreshes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from domain.segments.model import MemberSegment
from domain.segments.views import (
    MemberFigures,
    MemberStatsDelta,
    RefreshRecord,
    SegmentMove,
    SegmentSize,
    StatsColumns,
)


class SegmentRepository(Protocol):
    async def get(self, member_id: int) -> MemberSegment | None: ...
    async def for_members(self, member_ids: Iterable[int]) -> dict[int, MemberSegment]: ...

    # -- statistics, kept current as receipts are booked --------------------------------
    async def window_start(self, *, moving: bool = False) -> datetime | None:
        """Where the window figures of member_stats start (None before the first refresh).

        Locks it until the end of the transaction where the database can: shared for a
        booking, exclusive with `moving` for the refresh that moves it, so a booking never
        adds a receipt by the old start after the refresh subtracted by the new one.
        """
        ...

    async def add_to_stats(self, deltas: Sequence[MemberStatsDelta], at: datetime) -> None:
        """Add booked receipts to the members' statistics, one statement for all of them."""
        ...

    async def rebuild_stats(self, window_start: datetime, at: datetime) -> int:
        """Recompute every member's statistics from the receipts (the first refresh)."""
        ...

    async def slide_window(self, old_start: datetime, new_start: datetime, at: datetime) -> int:
        """Take the receipts in [old_start, new_start) out of the window figures."""
        ...

    async def all_stats(self) -> StatsColumns:
        """Every member with their statistics (zeros for a member who never bought)."""
        ...

    # -- scores ----------------------------------------------------------------------------
    async def previous(self) -> dict[int, tuple[str | None, str]]:
        """member id -> (segment, lifecycle) as of the last refresh."""
        ...

    async def write(self, segments: Sequence[MemberSegment]) -> None: ...
    async def forget(self, member_ids: Iterable[int]) -> int:
        """Remove these members' scores (they withdrew their consent to profiling)."""
        ...
    async def last_refresh(self) -> RefreshRecord | None: ...
    async def refreshes(self, count: int) -> list[RefreshRecord]: ...
    async def add_refresh(self, record: RefreshRecord) -> int:
        """Open a refresh (its window start counts from now on); returns its id."""
        ...

    async def complete_refresh(
        self, record: RefreshRecord, sizes: Sequence[SegmentSize], moves: Sequence[SegmentMove]
    ) -> None: ...
    async def sizes(self, refresh_id: int) -> list[SegmentSize]: ...
    async def moves_since(self, since: datetime) -> list[SegmentMove]: ...
    async def rf_grid(self) -> dict[tuple[int, int], int]:
        """Members per (R, F) score pair, as of the last refresh."""
        ...

    async def figures(self, member_no: str) -> MemberFigures | None: ...
    async def export_rows(self) -> list[MemberFigures]: ...
