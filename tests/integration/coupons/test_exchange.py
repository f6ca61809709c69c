"""Points exchange (积分兑换) on SQLite and PostgreSQL: one transaction, never twice, never < 0."""

from __future__ import annotations

import asyncio

import pytest

from bot.bootstrap import App
from domain.coupons.model import CouponStatus, ExchangeResult
from domain.coupons.services import exchange_points
from domain.loyalty.model import EntryKind, PointsLedger
from domain.shared.errors import InsufficientPoints
from tests.support.coupons import add_member, count_coupons, give_points, seed_stores


async def _exchange(app: App, member_id: int, reward: str, nonce: str) -> ExchangeResult:
    async with app.uow_factory() as uow:
        result = await exchange_points(
            uow, app.policy, member_id, reward, nonce, app.clock.now()
        )
        await uow.commit()
    return result


async def _ledger(app: App, member_id: int) -> PointsLedger:
    async with app.uow_factory() as uow:
        return PointsLedger(member_id, await uow.ledger.entries_for(member_id))


async def test_exchange_takes_the_oldest_points_first_and_issues_the_coupon(any_app: App) -> None:
    shop = await seed_stores(any_app)
    member = await add_member(any_app, "1", store=shop.shanghai, points=300, points_age_days=200)
    assert member.id is not None
    await give_points(any_app, member.id, 600, "seed:newer", age_days=5, expires_in_days=360)

    result = await _exchange(any_app, member.id, "ten_off", "n1")

    assert result.points == 500 and result.balance == 400 and not result.repeated
    ledger = await _ledger(any_app, member.id)
    assert [lot.remaining for lot in ledger.lots] == [0, 400]  # the older lot went first
    redeem = [e for e in ledger.entries if e.kind is EntryKind.REDEEM]
    assert len(redeem) == 1 and redeem[0].points == -500
    coupon = result.coupon
    assert coupon.source == "exchange:ten_off:n1" and coupon.status is CouponStatus.ACTIVE
    assert coupon.template_key == "ten_off"


async def test_the_same_confirmation_twice_books_once(any_app: App) -> None:
    member = await add_member(any_app, "1", points=900)
    assert member.id is not None
    first = await _exchange(any_app, member.id, "ten_off", "n1")
    again = await _exchange(any_app, member.id, "ten_off", "n1")
    assert again.repeated and again.coupon.code == first.coupon.code
    assert (await _ledger(any_app, member.id)).balance == 400
    assert await count_coupons(any_app, member_id=member.id) == 1


async def test_a_concurrent_double_tap_issues_one_coupon(any_app: App) -> None:
    member = await add_member(any_app, "1", points=900)
    assert member.id is not None
    results = await asyncio.gather(
        *(_exchange(any_app, member.id, "ten_off", "tap") for _ in range(4))
    )
    assert sum(1 for r in results if not r.repeated) == 1
    assert len({r.coupon.code for r in results}) == 1
    assert (await _ledger(any_app, member.id)).balance == 400
    assert await count_coupons(any_app, member_id=member.id) == 1


async def test_two_different_exchanges_at_once_never_overdraw(any_app: App) -> None:
    member = await add_member(any_app, "1", points=600)  # enough for one of them only
    assert member.id is not None
    results = await asyncio.gather(
        _exchange(any_app, member.id, "ten_off", "a"),
        _exchange(any_app, member.id, "ten_off", "b"),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    done = [r for r in results if not isinstance(r, BaseException)]
    assert len(done) == 1 and len(refused) == 1, results
    ledger = await _ledger(any_app, member.id)
    assert ledger.balance == 100
    assert await count_coupons(any_app, member_id=member.id) == 1


async def test_not_enough_points_changes_nothing(any_app: App) -> None:
    member = await add_member(any_app, "1", points=499)
    assert member.id is not None
    with pytest.raises(InsufficientPoints) as refused:
        await _exchange(any_app, member.id, "ten_off", "n1")
    assert refused.value.params == {"need": 500, "have": 499, "missing": 1}
    assert (await _ledger(any_app, member.id)).balance == 499
    assert await count_coupons(any_app) == 0


async def test_expired_points_cannot_be_spent(any_app: App) -> None:
    member = await add_member(any_app, "1")
    assert member.id is not None
    now = any_app.clock.now()
    await give_points(any_app, member.id, 800, "seed:old", age_days=400, expires_in_days=-1)
    with pytest.raises(InsufficientPoints):
        await _exchange(any_app, member.id, "ten_off", "n1")
    ledger = await _ledger(any_app, member.id)
    assert ledger.available(now) == 0 and ledger.balance == 800  # nothing was booked
