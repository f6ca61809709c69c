"""Repositories of coupons and staff accounts: they read and write, and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.coupons.model import Coupon, CouponStatus
from storage.common import RowMapping, _chunks, insert_ignoring_duplicates
from storage.coupons.tables import coupons
from storage.members.tables import members

COUPONS = RowMapping(
    Coupon, coupons, cents=("value", "min_spend"), enums={"status": CouponStatus},
    tuples=("stores",),
)
_values, _coupon = COUPONS.values, COUPONS.entity


def _usable(now: datetime) -> ColumnElement[bool]:
    """Active and not yet expired at `now`: a coupon a till may still redeem."""
    return and_(coupons.c.status == CouponStatus.ACTIVE.value, coupons.c.expires_at > now)


class SqlCouponRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _one(self, condition: Any) -> Coupon | None:
        row = (await self.conn.execute(select(coupons).where(condition))).first()
        return _coupon(row) if row else None

    async def get(self, coupon_id: int) -> Coupon | None:
        return await self._one(coupons.c.id == coupon_id)

    async def get_by_code(self, code: str) -> Coupon | None:
        return await self._one(coupons.c.code == code)

    async def get_by_source(self, member_id: int, source: str) -> Coupon | None:
        return await self._one(and_(coupons.c.member_id == member_id, coupons.c.source == source))

    async def issued_at(self, at: datetime) -> list[Coupon]:
        rows = await self.conn.execute(
            select(coupons).where(coupons.c.issued_at == at).order_by(coupons.c.id)
        )
        return [_coupon(row) for row in rows]

    async def add_if_new(self, coupon: Coupon) -> Coupon | None:
        statement = insert_ignoring_duplicates(self.conn, coupons).returning(coupons.c.id)
        new_id = (await self.conn.execute(statement, _values(coupon))).scalar()
        if new_id is None:
            return None
        coupon.id = int(new_id)
        return coupon

    async def add_many_if_new(self, new: Sequence[Coupon]) -> int:
        """Insert in batches, skipping any that clash; returns how many were inserted."""
        if not new:
            return 0
        by_source: dict[str, list[int]] = {}
        for coupon in new:
            by_source.setdefault(coupon.source, []).append(coupon.member_id)
        before = await self._count_held(by_source)
        statement = insert_ignoring_duplicates(self.conn, coupons)
        for chunk in _chunks([_values(c) for c in new]):
            await self.conn.execute(statement, list(chunk))
        return await self._count_held(by_source) - before

    async def _count_held(self, by_source: dict[str, list[int]]) -> int:
        """How many of these members hold a coupon of the source: counted in the database, so
        a campaign wave of thousands does not read every coupon back twice."""
        held = 0
        for source, ids in by_source.items():
            for chunk in _chunks(list(set(ids))):
                held += int(
                    await self.conn.scalar(
                        select(func.count()).where(
                            coupons.c.source == source, coupons.c.member_id.in_(chunk)
                        )
                    )
                    or 0
                )
        return held

    async def by_source(self, member_ids: Iterable[int], source: str) -> dict[int, Coupon]:
        found: dict[int, Coupon] = {}
        for chunk in _chunks(list(set(member_ids))):
            rows = await self.conn.execute(
                select(coupons).where(coupons.c.source == source, coupons.c.member_id.in_(chunk))
            )
            found.update({row.member_id: _coupon(row) for row in rows})
        return found

    async def active_for(self, member_id: int, now: datetime) -> list[Coupon]:
        rows = await self.conn.execute(
            select(coupons)
            .where(coupons.c.member_id == member_id, _usable(now))
            .order_by(coupons.c.expires_at, coupons.c.id)
        )
        return [_coupon(row) for row in rows]

    async def mark_redeemed(self, coupon_id: int, now: datetime, store_code: str, by: str) -> bool:
        # One statement decides: of two tills updating at once, the second finds the row no
        # longer active (PostgreSQL re-checks the WHERE after waiting for the first's lock).
        result = await self.conn.execute(
            update(coupons)
            .where(coupons.c.id == coupon_id, _usable(now))
            .values(
                status=CouponStatus.REDEEMED.value,
                redeemed_at=now,
                redeemed_store=store_code,
                redeemed_by=by[:120],
            )
        )
        return result.rowcount == 1

    async def expire_due(self, now: datetime) -> int:
        result = await self.conn.execute(
            update(coupons)
            .where(coupons.c.status == CouponStatus.ACTIVE.value, coupons.c.expires_at <= now)
            .values(status=CouponStatus.EXPIRED.value)
        )
        return int(result.rowcount or 0)

    async def due_reminders(self, now: datetime, until: datetime, limit: int) -> list[Coupon]:
        rows = await self.conn.execute(
            select(coupons)
            .where(_usable(now), coupons.c.expires_at <= until, coupons.c.reminded_at.is_(None))
            .order_by(coupons.c.expires_at, coupons.c.id)
            .limit(limit)
        )
        return [_coupon(row) for row in rows]

    async def mark_reminded(self, coupon_ids: Sequence[int], now: datetime) -> None:
        for chunk in _chunks(list(coupon_ids)):
            await self.conn.execute(
                update(coupons).where(coupons.c.id.in_(chunk)).values(reminded_at=now)
            )

    async def hold_member(self, member_id: int) -> None:
        if self.conn.dialect.name == "postgresql":
            await self.conn.execute(
                select(members.c.id).where(members.c.id == member_id).with_for_update()
            )
            return
        # SQLite locks the whole database for a writer, and only on a write: a no-op update
        # takes the lock now, so what this transaction reads next cannot go stale.
        await self.conn.execute(
            update(members).where(members.c.id == member_id).values(tier=members.c.tier)
        )
