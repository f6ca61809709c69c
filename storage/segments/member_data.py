"""The segments feature's part of a member's footprint: purchase statistics and scores."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.shared.member_data import Export
from storage.common import member_rows
from storage.segments.tables import member_segments, member_stats


class SqlSegmentsData:
    """A member's purchase statistics and their segment figures (the refresh history holds
    counts only and names nobody).

    Erase deletes both rows: a profile of a person's buying (segment, churn risk) is exactly
    what forgetting them should remove; the receipts stay with loyalty, so the chain's totals
    do not change. The next refresh scores the erased member again from those receipts (as a
    member number with figures and no person behind it).

    Reassign adds the statistics of the merged member to the kept one (earliest first purchase,
    latest last purchase, sums of the rest) and deletes the merged member's scores; the kept
    member's scores follow at the next refresh.
    """

    name = "segments"
    tables: Mapping[str, tuple[str, ...]] = MappingProxyType(
        {"member_stats": ("member_id",), "member_segments": ("member_id",)}
    )

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def export(self, member_id: int) -> Export:
        return {
            "member_stats": await member_rows(
                self.conn, member_stats, member_id, member_stats.c.member_id
            ),
            "member_segments": await member_rows(
                self.conn, member_segments, member_id, member_segments.c.member_id
            ),
        }

    async def erase(self, member_id: int) -> int:
        removed = 0
        for table in (member_segments, member_stats):
            result = await self.conn.execute(delete(table).where(table.c.member_id == member_id))
            removed += result.rowcount
        return removed

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        c = member_stats.c
        rows = {
            row.member_id: row
            for row in await self.conn.execute(
                select(member_stats).where(c.member_id.in_([from_member_id, to_member_id]))
            )
        }
        moved = 0
        merged = rows.get(from_member_id)
        if merged is not None:
            kept = rows.get(to_member_id)
            if kept is None:
                await self.conn.execute(
                    update(member_stats)
                    .where(c.member_id == from_member_id)
                    .values(member_id=to_member_id)
                )
            else:
                firsts = [t for t in (kept.first_purchase_at, merged.first_purchase_at) if t]
                lasts = [t for t in (kept.last_purchase_at, merged.last_purchase_at) if t]
                await self.conn.execute(
                    update(member_stats)
                    .where(c.member_id == to_member_id)
                    .values(
                        first_purchase_at=min(firsts) if firsts else None,
                        last_purchase_at=max(lasts) if lasts else None,
                        purchases=kept.purchases + merged.purchases,
                        spend_cents=kept.spend_cents + merged.spend_cents,
                        window_purchases=kept.window_purchases + merged.window_purchases,
                        window_spend_cents=kept.window_spend_cents + merged.window_spend_cents,
                        updated_at=max(kept.updated_at, merged.updated_at),
                    )
                )
                await self.conn.execute(delete(member_stats).where(c.member_id == from_member_id))
            moved += 1
        result = await self.conn.execute(
            delete(member_segments).where(member_segments.c.member_id == from_member_id)
        )
        return moved + result.rowcount
