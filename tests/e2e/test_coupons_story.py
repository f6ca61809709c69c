"""Coupon stories in Telegram over HTTP, on aiogram and on python-telegram-bot alike.

A birthday member gets the greeting from the outbox and finds the coupon in /coupons; a member
exchanges points (tapping the confirmation twice); staff redeem at the till while a member who
tries /redeem is told it is an unknown command.
"""

from __future__ import annotations

from datetime import date

from bot.bootstrap import App
from domain.coupons.rules import format_code
from domain.coupons.services import issue_coupon
from domain.staff.model import Role, StaffMember
from scheduler.jobs.coupons import birthday_coupons
from tests.e2e.conftest import MEI, MEMBER_POINTS, deliver_outbox, link_chat, member_by_phone
from tests.support.coupons import give_points
from tests.support.jobs import run_as_scheduled
from tests.support.standin import BotApiStandIn, double_tap

STAFF = 6001





async def test_a_birthday_greeting_arrives_and_the_coupon_is_in_coupons(
    polling_bot: App, standin: BotApiStandIn
) -> None:
    app, t = polling_bot, polling_bot.translator
    member = await member_by_phone(app)
    member.birthday = date(1990, 6, 15)  # the shop's clock says 15 June, 18:00 in Shanghai
    async with app.uow_factory() as uow:
        await uow.members.update(member)
        await uow.commit()
    mei = await link_chat(standin, MEI, language="zh-hans")

    summary = await run_as_scheduled(app, birthday_coupons)
    assert "1 coupons issued, 1 greetings queued" in summary
    await deliver_outbox(app)

    (greeting,) = await standin.wait_for_messages(MEI, 1)
    assert greeting.text.startswith("🎂") and member.name in greeting.text
    show = standin.button_data(greeting, t("zh", "coupons.show_button"))
    standin.press(mei, greeting, show)
    (card,) = await standin.wait_for_messages(MEI, 1)
    assert card.method == "sendphoto" and card.photo and card.photo.startswith(b"\x89PNG")
    async with app.uow_factory() as uow:
        assert member.id is not None
        (coupon,) = await uow.coupons.active_for(member.id, app.clock.now())
    assert coupon.source == "birthday:2026"
    assert f"{coupon.code[:4]}-{coupon.code[4:]}" in card.text
    assert f"{coupon.code[:4]}-{coupon.code[4:]}" in greeting.text

    standin.send_text(mei, "/coupons")
    (listing,) = await standin.wait_for_messages(MEI, 1)
    assert listing.text == t("zh", "coupons.list", count=1)
    assert listing.inline_buttons[0]["callback_data"] == f"cp:{coupon.id}"

    # The job again (a restart, a second scheduler): nothing new reaches the member.
    await run_as_scheduled(app, birthday_coupons)
    await deliver_outbox(app)
    await standin.assert_quiet(MEI)


async def test_exchange_points_with_a_double_tap(polling_bot: App, standin: BotApiStandIn) -> None:
    app, t = polling_bot, polling_bot.translator
    member = await member_by_phone(app)
    assert member.id is not None
    await give_points(app, member.id, 480, "e2e:more", age_days=1)
    mei = await link_chat(standin, MEI)

    standin.send_text(mei, "/exchange")
    menu, later = await standin.wait_for_messages(MEI, 2)
    assert menu.text == t("en", "exchange.menu", balance=MEMBER_POINTS + 480)
    assert "more to go" in later.text  # the 1000-point reward is listed, with what is missing
    standin.press(mei, menu, "xr:ten_off")
    (confirm,) = await standin.wait_for_messages(MEI, 1)
    yes = standin.button_data(confirm, t("en", "exchange.confirm_button"))
    await double_tap(standin, mei, confirm, yes, count=2, done="Done!", again="already done")
    async with app.uow_factory() as uow:
        assert await uow.ledger.balance(member.id) == MEMBER_POINTS + 480 - 500
        held = await uow.coupons.active_for(member.id, app.clock.now())
    assert [c.template_key for c in held] == ["ten_off"]


async def test_staff_redeem_at_the_till_and_a_member_cannot(
    polling_bot: App, standin: BotApiStandIn
) -> None:
    app, t = polling_bot, polling_bot.translator
    member = await member_by_phone(app)
    assert member.id is not None
    async with app.uow_factory() as uow:
        coupon, _ = await issue_coupon(
            uow, app.policy, member.id, "ten_off", "campaign:12", app.clock.now()
        )
        await uow.staff.save(StaffMember(str(STAFF), Role.AGENT, "Wang", store_code="SH01"))
        await uow.commit()
    code = format_code(coupon.code)

    mei = await link_chat(standin, MEI)
    standin.send_text(mei, f"/redeem {code}")
    (answer,) = await standin.wait_for_messages(MEI, 1)
    assert answer.text == t("en", "command.unknown", command="redeem")

    wang = standin.user(STAFF, "Wang", language_code="zh-hans")
    standin.send_text(wang, f"/redeem {code}")
    (done,) = await standin.wait_for_messages(STAFF, 1)
    assert done.text.startswith("✅") and code in done.text and "SH01" in done.text
    standin.send_text(wang, f"/redeem {code}")
    (again,) = await standin.wait_for_messages(STAFF, 1)
    assert again.text.startswith("❌") and "SH01" in again.text

    standin.send_text(mei, "/coupons")
    (none,) = await standin.wait_for_messages(MEI, 1)
    assert none.text == t("en", "coupons.none")
