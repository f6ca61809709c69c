"""The coupons feature's part of a member's footprint: the coupons issued to them."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.shared.member_data import Export
from storage.common import member_rows, move_member_rows
from storage.coupons.tables import coupons

SOURCE_MAX = 96  # the length of coupons.source


def merged_source(source: str, from_member_id: int) -> str:
    """The source a merged member's coupon takes when the kept member has one from the same
    source: `birthday:2027` of member 42 becomes `birthday:2027#merged:42`."""
    suffix = f"#merged:{from_member_id}"
    return source[: SOURCE_MAX - len(suffix)] + suffix


class SqlCouponsData:
    """Coupons: a value the chain owes, with a code the member may hold on paper.

    Erase changes nothing: a coupon holds no personal data (who redeemed it is the till or the
    staff account), and an erased member keeps the coupons they were given, like their points.

    Reassign moves every coupon, with its code, status and terms, to the kept member. At most
    one coupon per member and source is the rule (one birthday gift a year); when both members
    have one from the same source (both got this year's birthday coupon), the moved one keeps
    its code and value but takes the source `<source>#merged:<from id>`, so the rule still holds
    for the kept member, jobs asking "has this member had this year's gift?" still find the kept
    member's own coupon, and the coupon the person holds stays valid.
    """

    name = "coupons"
    tables: Mapping[str, tuple[str, ...]] = MappingProxyType({"coupons": ("member_id",)})

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def export(self, member_id: int) -> Export:
        return {"coupons": await member_rows(self.conn, coupons, member_id)}

    async def erase(self, member_id: int) -> int:
        return 0

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        kept_sources = select(coupons.c.source).where(coupons.c.member_id == to_member_id)
        clashing = await self.conn.execute(
            select(coupons.c.id, coupons.c.source).where(
                coupons.c.member_id == from_member_id, coupons.c.source.in_(kept_sources)
            )
        )
        for coupon_id, source in list(clashing):
            await self.conn.execute(
                update(coupons)
                .where(coupons.c.id == coupon_id)
                .values(source=merged_source(source, from_member_id))
            )
        return await move_member_rows(self.conn, (coupons,), from_member_id, to_member_id)
