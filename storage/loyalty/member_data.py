"""The loyalty feature's part of a member's footprint: receipts and the points ledger."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.loyalty.model import EntryKind
from domain.shared.member_data import ERASED_TEXT, Export
from storage.common import member_rows
from storage.loyalty.tables import points_ledger, points_summaries, receipts


class SqlLoyaltyData:
    """Receipts and ledger entries: the chain's books, which an erase never changes.

    Erase keeps every receipt and every entry with its amount and points (the balance, the
    tiers' spend and the accounts of past years add up exactly as before). Their notes are
    written by the system (a receipt number, "expired") except an adjustment's, which staff may
    type and which may quote the member: that one is replaced by a marker.

    Reassign moves receipts and entries to the kept member: their keys (receipt numbers, entry
    source keys) are unique across the chain, so nothing collides, and both balances are never
    negative, so their sum is not either. Both members' points summaries (points_summaries, a
    sum of the ledger kept for /points) are dropped and made again from the ledger when next
    read; an erase leaves them, as it leaves the points. The kept member's tier and 12-month
    spend are recomputed by the nightly tier job, as after any import.
    """

    name = "loyalty"
    tables: Mapping[str, tuple[str, ...]] = MappingProxyType(
        {
            "receipts": ("member_id",),
            "points_ledger": ("member_id",),
            "points_summaries": ("member_id",),
        }
    )

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def export(self, member_id: int) -> Export:
        return {
            "receipts": await member_rows(self.conn, receipts, member_id),
            "points_ledger": await member_rows(self.conn, points_ledger, member_id),
            "points_summaries": await member_rows(
                self.conn, points_summaries, member_id, points_summaries.c.member_id
            ),
        }

    async def erase(self, member_id: int) -> int:
        notes = await self.conn.execute(
            update(points_ledger)
            .where(
                points_ledger.c.member_id == member_id,
                points_ledger.c.kind == EntryKind.ADJUST.value,
                points_ledger.c.note != "",
                points_ledger.c.note != ERASED_TEXT,
            )
            .values(note=ERASED_TEXT)
        )
        return notes.rowcount

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        moved = 0
        for table in (receipts, points_ledger):
            result = await self.conn.execute(
                update(table)
                .where(table.c.member_id == from_member_id)
                .values(member_id=to_member_id)
            )
            moved += result.rowcount
        # Both ledgers changed: their summaries are made again from them when next read.
        await self.conn.execute(
            delete(points_summaries).where(
                points_summaries.c.member_id.in_([from_member_id, to_member_id])
            )
        )
        return moved
