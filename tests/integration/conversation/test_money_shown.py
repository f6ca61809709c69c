"""Amounts in the chat: the Chinese screens say 元, the English ones ¥, never "CNY"."""

from __future__ import annotations

from bot.bootstrap import App
from domain.coupons.services import issue_coupon
from tests.support.conversation import MEMBER, press, say
from tests.support.coupons import add_member, seed_stores


async def test_points_and_coupons_write_money_the_same_way_in_each_language(app: App) -> None:
    shop = await seed_stores(app)
    english = await add_member(app, "1", store=shop.shanghai, chat=MEMBER, points=10)
    chinese = await add_member(app, "2", store=shop.shanghai, chat=502, language="zh")
    async with app.uow_factory() as uow:
        for member in (english, chinese):
            assert member.id is not None
            now = app.clock.now()
            await issue_coupon(uow, app.policy, member.id, "ten_off", "campaign:1", now)
        await uow.commit()

    for user, currency in ((MEMBER, "¥"), (502, "元")):
        (points,) = await say(app, "/points", user=user)
        assert currency in points.text and "CNY" not in points.text
        (listing,) = await say(app, "/coupons", user=user)
        (shown,) = await press(app, listing.buttons[0][0].data, user=user)
        assert currency in shown.text and "CNY" not in shown.text
    (shown,) = await press(app, listing.buttons[0][0].data, user=502)
    assert "立减 10 元，消费满 50 元 可用" in shown.text
