"""Seeding for the segments tests: stores and members who shop, bookings through the real
booking path, and a refresh as the nightly job runs it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.bootstrap import App
from domain.loyalty.model import Receipt
from domain.loyalty.services import book_receipts
from domain.members.model import Store
from domain.segments.services import RefreshPlan
from scheduler.jobs.segments import refresh_segments
from storage.segments.tables import member_segments, member_stats
from tests.support.coupons import Shop, add_member, seed_stores


async def shoppers(app: App, *member_nos: str) -> tuple[Shop, list[int]]:
    """The two stores, and a member for each number (no purchases yet), by id."""
    shops = await seed_stores(app)
    ids = []
    for member_no in member_nos:
        member = await add_member(app, member_no)
        assert member.id is not None
        ids.append(member.id)
    return shops, ids


async def shop(
    app: App, member_id: int, store: Store, days_ago: float, amount: str = "88.00",
    *, no: str | None = None, original: str | None = None,
) -> Receipt:
    """Book one receipt (a refund when the amount is negative) the way the importer does."""
    assert store.id is not None
    at = app.clock.now() - timedelta(days=days_ago)
    receipt = Receipt(
        no or f"R{member_id}-{at:%Y%m%d%H%M%S%f}", store.id, member_id, at, Decimal(amount),
        "CNY", original,
    )
    async with app.uow_factory() as uow:
        result = await book_receipts(uow, app.policy, [receipt], app.clock.now())
        await uow.commit()
    assert not result.rejected, result.rejected
    return receipt


async def refresh(app: App, **kw: Any) -> RefreshPlan:
    return await refresh_segments(app.uow_factory, app.policy, app.clock.now(), **kw)


async def stats_rows(app: App) -> dict[int, Any]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(select(member_stats).order_by(member_stats.c.member_id))
        return {row.member_id: row for row in rows}


async def segment_rows(app: App) -> dict[int, Any]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(select(member_segments).order_by(member_segments.c.member_id))
        return {row.member_id: row for row in rows}
