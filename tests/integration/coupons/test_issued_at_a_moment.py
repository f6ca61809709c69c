"""The coupons one run issued, read back by the moment they were issued (SQLite and
PostgreSQL): only those of that moment, in the order they were issued."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import App
from domain.coupons.services import issue_coupon
from tests.support.coupons import add_member, seed_stores


async def test_the_coupons_issued_at_a_moment_come_back_in_order(any_app: App) -> None:
    shop = await seed_stores(any_app)
    now = any_app.clock.now()
    ids = []
    for member_no in ("1", "2", "3"):
        member = await add_member(any_app, member_no, store=shop.shanghai)
        assert member.id is not None
        ids.append(member.id)
    async with any_app.uow_factory() as uow:
        later, _ = await issue_coupon(
            uow, any_app.policy, ids[0], "ten_off", "campaign:1", now + timedelta(minutes=1))
        second, _ = await issue_coupon(uow, any_app.policy, ids[2], "ten_off", "campaign:1", now)
        first, _ = await issue_coupon(uow, any_app.policy, ids[1], "ten_off", "campaign:2", now)
        await uow.commit()
    async with any_app.uow_factory() as uow:
        found = await uow.coupons.issued_at(now)
        assert await uow.coupons.issued_at(now - timedelta(days=1)) == []
        assert [c.code for c in await uow.coupons.issued_at(later.issued_at)] == [later.code]
    assert [(c.code, c.member_id) for c in found] == [
        (second.code, ids[2]), (first.code, ids[1])]
    assert found[0] == second
