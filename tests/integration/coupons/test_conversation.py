"""Coupons in the conversation: /coupons with a QR code, the exchange flow, staff /redeem."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image

from bot.bootstrap import App
from domain.coupons.rules import format_code
from domain.coupons.services import exchange_points, issue_coupon
from domain.loyalty.model import PointsLedger
from domain.staff.model import Role, StaffMember
from tests.support.conversation import button, press, say
from tests.support.coupons import add_member, count_coupons, seed_stores

MEMBER_CHAT = 501
STAFF_CHAT = 900



async def _member_with_coupons(app: App) -> None:
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=MEMBER_CHAT, points=1200)
    assert member.id is not None
    async with app.uow_factory() as uow:
        for template, source in (("pct_off", "campaign:1"), ("ten_off", "campaign:2")):
            await issue_coupon(uow, app.policy, member.id, template, source, app.clock.now())
        await uow.commit()


async def test_coupons_are_listed_soonest_expiry_first_and_shown_as_a_qr_code(app: App) -> None:
    await _member_with_coupons(app)
    (listing,) = await say(app, "/coupons")
    assert listing.key == "coupons.list"
    labels = [row[0].text for row in listing.buttons[:-1]]
    assert labels[0].startswith("10% off") and labels[1].startswith("¥10 off")  # 30 < 60 days

    (shown,) = await press(app, listing.buttons[0][0].data)
    assert shown.key == "coupons.detail"
    assert shown.photo is not None and shown.photo.startswith(b"\x89PNG")
    image = Image.open(BytesIO(shown.photo))
    assert image.format == "PNG" and image.size[0] == image.size[1] >= 210
    async with app.uow_factory() as uow:
        held = await uow.coupons.active_for(1, app.clock.now())
    assert format_code(held[0].code) in shown.text
    assert "10% off on a purchase of at least ¥200" in shown.text


async def test_the_intent_works_in_chinese_and_someone_elses_coupon_stays_hidden(
    app: App,
) -> None:
    await _member_with_coupons(app)
    await add_member(app, "2", chat=502)
    (listing,) = await say(app, "我的优惠券", lang="zh")
    assert listing.key == "coupons.list"
    stranger = await press(app, listing.buttons[0][0].data, user=502)
    assert [m.key for m in stranger] == ["coupons.not_found"]


async def test_no_coupons_offers_the_exchange(app: App) -> None:
    await add_member(app, "1", chat=MEMBER_CHAT)
    (none,) = await say(app, "/coupons")
    assert none.key == "coupons.none" and button([none], "xr:") == "xr:menu"


async def test_exchange_story_with_a_second_tap(app: App) -> None:
    await _member_with_coupons(app)
    (menu,) = await say(app, "/exchange")
    assert menu.key == "exchange.menu" and "1200" in menu.text
    (confirm,) = await press(app, button([menu], "xr:ten_off"))
    assert confirm.key == "exchange.confirm"
    yes = button([confirm], "xc:")
    (done,) = await press(app, yes)
    assert done.key == "exchange.done" and done.edit
    assert "700" in done.text
    (again,) = await press(app, yes)  # the same button once more: nothing more is spent
    assert again.key == "exchange.already"
    async with app.uow_factory() as uow:
        ledger = PointsLedger(1, await uow.ledger.entries_for(1))
    assert ledger.balance == 700
    assert await count_coupons(app, template_key="ten_off") == 2  # campaign:2 + the exchange


async def test_a_cancelled_or_old_confirmation_is_stale(app: App) -> None:
    await _member_with_coupons(app)
    (menu,) = await say(app, "/exchange")
    (first,) = await press(app, button([menu], "xr:ten_off"))
    (second,) = await press(app, button([menu], "xr:ten_off"))  # chose again: a new nonce
    (stale,) = await press(app, button([first], "xc:"))
    assert stale.key == "exchange.stale"
    (cancelled,) = await press(app, "xn")
    assert cancelled.key == "exchange.cancelled"
    (stale,) = await press(app, button([second], "xc:"))
    assert stale.key == "exchange.stale"
    assert await count_coupons(app) == 2


async def test_too_few_points_is_said_before_and_at_confirmation(app: App) -> None:
    shop = await seed_stores(app)
    await add_member(app, "1", store=shop.shanghai, chat=MEMBER_CHAT, points=600)
    menu, later = await say(app, "/exchange")
    # Only what is within reach has a button; the rest says how many points are missing.
    assert [b.data for row in menu.buttons for b in row] == ["xr:tote_bag", "xr:ten_off"]
    assert later.key == "exchange.out_of_reach" and "1000 points (400 more to go)" in later.text
    (refused,) = await press(app, "xr:pct_off")  # an old menu's button
    assert refused.key == "exchange.not_enough" and "1000" in refused.text
    assert "400 more" in refused.text
    (confirm,) = await press(app, button([menu], "xr:ten_off"))
    # Meanwhile the points go elsewhere (another device spent them).
    async with app.uow_factory() as uow:
        await exchange_points(uow, app.policy, 1, "tote_bag", "other", app.clock.now())
        await uow.commit()
    (short,) = await press(app, button([confirm], "xc:"))
    assert short.key == "exchange.not_enough"
    async with app.uow_factory() as uow:
        assert await uow.ledger.balance(1) == 300


async def test_a_double_tap_handled_by_two_workers_at_once_spends_once(any_app: App) -> None:
    await _member_with_coupons(any_app)
    (menu,) = await say(any_app, "/exchange")
    (confirm,) = await press(any_app, button([menu], "xr:ten_off"))
    yes = button([confirm], "xc:")
    answers = await asyncio.wait_for(
        asyncio.gather(press(any_app, yes), press(any_app, yes), press(any_app, yes)), 30
    )
    keys = sorted(replies[0].key for replies in answers)
    assert keys.count("exchange.done") == 1, keys
    assert set(keys) <= {"exchange.done", "exchange.already"}
    async with any_app.uow_factory() as uow:
        assert await uow.ledger.balance(1) == 700
    assert await count_coupons(any_app) == 3


async def test_staff_redeem_and_everyone_else_sees_an_unknown_command(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    await _member_with_coupons(app)
    async with app.uow_factory() as uow:
        await uow.staff.save(StaffMember(str(STAFF_CHAT), Role.AGENT, "Wang", store_code="SH01"))
        held = await uow.coupons.active_for(1, app.clock.now())
        await uow.commit()
    code = format_code(held[0].code)

    unknown = await say(app, "/frobnicate")
    with caplog.at_level(logging.WARNING):
        member_try = await say(app, f"/redeem {code}")
    assert [m.text for m in member_try] == [
        app.translator("en", "command.unknown", command="redeem")
    ]
    assert unknown[0].key == member_try[0].key
    assert "not staff" in caplog.text

    (done,) = await say(app, f"/redeem {code}", user=STAFF_CHAT)
    assert done.key == "redeem.done" and "SH01" in done.text
    (again,) = await say(app, f"/redeem {code}", user=STAFF_CHAT)
    assert again.key == "redeem.refused.redeemed_at"
    (usage,) = await say(app, "/redeem", user=STAFF_CHAT)
    assert usage.key == "redeem.usage"
    (typo,) = await say(app, "/redeem ABCD-EFGH", user=STAFF_CHAT)
    assert typo.key in ("redeem.refused.bad_code", "redeem.refused.unknown")
    async with app.uow_factory() as uow:
        used = await uow.coupons.get(held[0].id or 0)
    assert used is not None and used.redeemed_by == f"telegram:{STAFF_CHAT} (Wang)"


async def test_admins_from_settings_may_redeem_naming_the_store(app: App) -> None:
    await _member_with_coupons(app)
    deps = app.conversation.deps
    deps.desk = replace(deps.desk, admin_ids=frozenset({"777"}))  # as ADMIN_IDS=777 does
    async with app.uow_factory() as uow:
        held = await uow.coupons.active_for(1, app.clock.now())
    (ask,) = await say(app, f"/redeem {held[0].code}", user=777)
    assert ask.key == "redeem.refused.needs_store"
    (done,) = await say(app, f"/redeem {held[0].code} sh01", user=777)
    assert done.key == "redeem.done"


async def test_an_expired_coupon_disappears_from_the_list(app: App) -> None:
    await _member_with_coupons(app)
    app.clock.advance(timedelta(days=40))  # type: ignore[attr-defined]
    (listing,) = await say(app, "/coupons")
    assert len(listing.buttons) == 2  # the 60-day coupon and the exchange button


async def test_validity_is_shown_in_the_members_own_time_zone(app: App) -> None:
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.new_york, chat=MEMBER_CHAT)
    assert member.id is not None
    async with app.uow_factory() as uow:
        coupon, _ = await issue_coupon(
            uow, app.policy, member.id, "ten_off", "campaign:1", app.clock.now()
        )
        await uow.commit()
    day = coupon.last_valid_day("America/New_York").isoformat()
    assert coupon.last_valid_day("Asia/Shanghai").isoformat() != day
    (listing,) = await say(app, "/coupons")
    assert listing.buttons[0][0].text.endswith(day)
    (shown,) = await press(app, listing.buttons[0][0].data)
    assert f"Valid until {day}" in shown.text
