"""Redeeming a coupon at the till: every refusal says why, and one code is redeemed once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from bot.bootstrap import App
from domain.coupons.model import Coupon, CouponRefused, CouponStatus, Redeemer
from domain.coupons.policy import CouponTemplate
from domain.coupons.rules import format_code, new_code
from domain.coupons.services import issue_coupon, redeem_coupon
from domain.shared.policy import Policy
from storage.coupons.repository import SqlCouponRepository
from storage.coupons.tables import coupons
from storage.uow import SqlUnitOfWork
from tests.support.coupons import Shop, add_member, seed_stores

TILL = Redeemer("cli:till-3")


async def _issue(app: App, member_no: str = "1", template: str = "ten_off") -> Coupon:
    async with app.uow_factory() as uow:
        member = await uow.members.get_by_member_no(member_no)
        assert member is not None and member.id is not None
        coupon, _ = await issue_coupon(
            uow, app.policy, member.id, template, f"campaign:{template}", app.clock.now()
        )
        await uow.commit()
    return coupon


async def _redeem(app: App, code: str, store: str | None = "SH01", **kw: object) -> Coupon:
    async with app.uow_factory() as uow:
        coupon = await redeem_coupon(
            uow, code, store_code=store, by=TILL, now=app.clock.now(), **kw  # type: ignore[arg-type]
        )
        await uow.commit()
    return coupon


async def _shop_with_coupon(app: App) -> tuple[Shop, Coupon]:
    shop = await seed_stores(app)
    await add_member(app, "1", store=shop.shanghai)
    await add_member(app, "2", store=shop.shanghai)
    return shop, await _issue(app)


async def test_a_coupon_is_redeemed_with_who_where_and_when(any_app: App) -> None:
    _, coupon = await _shop_with_coupon(any_app)
    shown = format_code(coupon.code).lower()
    done = await _redeem(any_app, shown, member_no="1", spend=Decimal(60))
    assert done.status is CouponStatus.REDEEMED
    async with any_app.uow_factory() as uow:
        stored = await uow.coupons.get_by_code(coupon.code)
    assert stored is not None and stored.status is CouponStatus.REDEEMED
    assert stored.redeemed_store == "SH01" and stored.redeemed_by == "cli:till-3"
    assert stored.redeemed_at == any_app.clock.now()


async def _refusal(app: App, code: str, **kw: object) -> CouponRefused:
    with pytest.raises(CouponRefused) as refused:
        await _redeem(app, code, **kw)  # type: ignore[arg-type]
    return refused.value


async def test_every_refusal_names_its_reason(any_app: App) -> None:
    _, coupon = await _shop_with_coupon(any_app)
    code = coupon.code
    typo = code[:-1] + ("2" if code[-1] != "2" else "3")
    assert (await _refusal(any_app, typo)).key == "redeem.refused.bad_code"
    assert (await _refusal(any_app, "not a code")).key == "redeem.refused.bad_code"
    other = await _issue(any_app, "2")  # a real code that is someone else's
    assert (await _refusal(any_app, other.code, member_no="1")).key == "redeem.refused.not_owner"
    assert (await _refusal(any_app, code, store="XX99")).key == "redeem.refused.unknown_store"
    assert (await _refusal(any_app, code, store=None)).key == "redeem.refused.needs_store"
    below = await _refusal(any_app, code, spend=Decimal("49.99"))
    assert below.key == "redeem.refused.min_spend" and below.params["min_spend"] == "50.00"

    await _redeem(any_app, code)
    again = await _refusal(any_app, code)
    assert again.key == "redeem.refused.redeemed_at" and again.params["store"] == "SH01"


async def test_an_unknown_code_is_told_apart_from_a_typo(any_app: App) -> None:
    await _shop_with_coupon(any_app)
    assert (await _refusal(any_app, new_code())).key == "redeem.refused.unknown"


async def test_expired_and_cancelled_coupons_are_refused(any_app: App) -> None:
    _, coupon = await _shop_with_coupon(any_app)
    second = await _issue(any_app, "2")
    any_app.clock.advance(timedelta(days=61))  # type: ignore[attr-defined]
    expired = await _refusal(any_app, coupon.code)
    assert expired.key == "redeem.refused.expired"
    assert expired.params["day"] == coupon.last_valid_day("Asia/Shanghai").isoformat()
    async with any_app.engine.begin() as conn:
        await conn.execute(
            update(coupons).where(coupons.c.id == second.id).values(status="cancelled")
        )
    assert (await _refusal(any_app, second.code)).key == "redeem.refused.cancelled"


async def test_a_coupon_for_some_stores_only(any_app: App) -> None:
    shop = await seed_stores(any_app)
    await add_member(any_app, "1", store=shop.shanghai)
    only_ny = CouponTemplate(
        "ny_only", "amount", Decimal(5), "5 off in New York", "纽约店立减 5 元", stores=("NY01",)
    )
    policy = Policy(coupon_templates=(*Policy().coupon_templates, only_ny))
    async with any_app.uow_factory() as uow:
        member = await uow.members.get_by_member_no("1")
        assert member is not None and member.id is not None
        coupon, _ = await issue_coupon(
            uow, policy, member.id, "ny_only", "campaign:7", any_app.clock.now()
        )
        await uow.commit()
    refused = await _refusal(any_app, coupon.code, store="SH01")
    assert refused.key == "redeem.refused.wrong_store" and refused.params["stores"] == "NY01"
    assert (await _redeem(any_app, coupon.code, store="ny01")).redeemed_store == "NY01"


class _Meeting(SqlCouponRepository):
    """The real repository, except that both tills meet before their final update: each has
    passed every check, so only the conditional update can decide."""

    def __init__(self, conn: object, barrier: asyncio.Barrier) -> None:
        super().__init__(conn)  # type: ignore[arg-type]
        self.barrier = barrier

    async def mark_redeemed(self, coupon_id: int, now: object, store_code: str, by: str) -> bool:
        await asyncio.wait_for(self.barrier.wait(), 10)
        return await super().mark_redeemed(coupon_id, now, store_code, by)  # type: ignore[arg-type]


async def _till(app: App, code: str, barrier: asyncio.Barrier, name: str) -> Coupon:
    async with SqlUnitOfWork(app.engine) as uow:  # its own connection, like a till's
        uow.coupons = _Meeting(uow.connection, barrier)
        coupon = await redeem_coupon(
            uow, code, store_code="SH01", by=Redeemer(name), now=app.clock.now()
        )
        await uow.commit()
    return coupon


@pytest.mark.parametrize("tills", [2, 5])
async def test_tills_redeeming_one_code_at_the_same_moment_succeed_once(
    any_app: App, tills: int
) -> None:
    _, coupon = await _shop_with_coupon(any_app)
    barrier = asyncio.Barrier(tills)
    results = await asyncio.wait_for(
        asyncio.gather(
            *(_till(any_app, coupon.code, barrier, f"till-{i}") for i in range(tills)),
            return_exceptions=True,
        ),
        30,
    )
    wins = [r for r in results if isinstance(r, Coupon)]
    refusals = [r for r in results if isinstance(r, CouponRefused)]
    assert len(wins) == 1 and len(refusals) == tills - 1, results
    assert {r.key for r in refusals} <= {"redeem.refused.redeemed_at", "redeem.refused.redeemed"}
    async with any_app.uow_factory() as uow:
        stored = await uow.coupons.get(coupon.id or 0)
    assert stored is not None and stored.redeemed_by == wins[0].redeemed_by
