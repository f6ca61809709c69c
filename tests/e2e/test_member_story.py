"""A member's story in Telegram, over HTTP, on aiogram and on python-telegram-bot alike.

The expected texts come from the real translator (the locale files), so a reworded message
does not break these tests, but a wrong key, language or keyboard does.
"""

from __future__ import annotations

from typing import Any

from bot.bootstrap import App
from tests.e2e.conftest import (
    MEI,
    MEMBER_NAME,
    MEMBER_NO,
    MEMBER_PHONE,
    MEMBER_POINTS,
    member_by_phone,
)
from tests.support.standin import BotApiStandIn, BotOutput


def texts(outputs: list[BotOutput]) -> list[str]:
    return [output.text for output in outputs]


async def _switch_language(
    app: App, standin: BotApiStandIn, mei: dict[str, Any], shown_in: str, button: str,
    chosen: str,
) -> None:
    """/language shows the menu (in language `shown_in`); pressing `button` edits the menu in
    place into the confirmation in language `chosen`, its buttons gone, the tap answered."""
    t = app.translator
    standin.send_text(mei, "/language")
    (menu,) = await standin.wait_for_messages(MEI, 1)
    assert menu.text == t(shown_in, "language.choose")
    assert [b["text"] for b in menu.inline_buttons] == ["中文", "English"]
    query = standin.press(mei, menu, standin.button_data(menu, button))
    (changed,) = await standin.wait_for_messages(MEI, 1)
    assert changed.kind == "edit" and changed.message_id == menu.message_id
    assert changed.text == t(chosen, "language.changed")
    assert changed.inline_buttons == []  # the menu's buttons are gone with the edit
    assert standin.callback_answered(query["id"])


async def test_a_member_links_checks_points_switches_language_and_stops_offers(
    polling_bot: App, standin: BotApiStandIn
) -> None:
    t = polling_bot.translator
    mei = standin.user(MEI, "Mei", language_code="zh-hans")

    # /start: a welcome, then the share-my-phone keyboard (the only way to prove the number).
    standin.send_text(mei, "/start")
    welcome, ask = await standin.wait_for_messages(MEI, 2)
    assert welcome.text == t("zh", "start.welcome", chain=polling_bot.policy.chain_name)
    assert ask.text == t("zh", "link.ask_contact")
    assert ask.requests_contact
    assert ask.reply_markup is not None
    keyboard = ask.reply_markup["keyboard"]
    assert keyboard[0][0]["text"] == t("zh", "link.share_button")
    assert ask.reply_markup.get("one_time_keyboard") and ask.reply_markup.get("resize_keyboard")

    # Sharing her own contact (Telegram sends the number without "+") links the membership
    # and takes the share keyboard away.
    standin.share_contact(mei, MEMBER_PHONE.lstrip("+"))
    linked = await standin.wait_for_messages(MEI, 2)
    assert linked[0].text == t("zh", "link.linked", name=MEMBER_NAME, member_no=MEMBER_NO)
    assert linked[0].removes_keyboard
    assert t("zh", "help.text") in texts(linked)

    standin.send_text(mei, "/points")
    (points,) = await standin.wait_for_messages(MEI, 1)
    assert f"积分：{MEMBER_POINTS}" in points.text

    # /language → an inline menu; pressing English replaces the menu in place.
    await _switch_language(polling_bot, standin, mei, "zh", "English", "en")

    standin.send_text(mei, "/points")
    (points,) = await standin.wait_for_messages(MEI, 1)
    assert f"Points: {MEMBER_POINTS}" in points.text

    # And back to Chinese.
    await _switch_language(polling_bot, standin, mei, "en", "中文", "zh")

    # /stop withdraws marketing consent at once, and the database says so.
    standin.send_text(mei, "/stop")
    (stopped,) = await standin.wait_for_messages(MEI, 1)
    assert stopped.text == t("zh", "stop.done")
    member = await member_by_phone(polling_bot)
    assert member.marketing_consent is False
    assert member.opted_out_at is not None

    await standin.assert_quiet(MEI)


async def test_a_forwarded_contact_of_someone_else_does_not_link(
    polling_bot: App, standin: BotApiStandIn
) -> None:
    t = polling_bot.translator
    intruder = standin.user(5002, "Sam", language_code="en")
    standin.send_text(intruder, "/start")
    await standin.wait_for_messages(5002, 2)

    # The member's own contact card, forwarded: it carries the member's user id, not Sam's.
    standin.share_contact(intruder, MEMBER_PHONE, user_id=MEI, first_name="Li")
    (refused,) = await standin.wait_for_messages(5002, 1)
    assert refused.text == t("en", "link.not_own_contact")
    assert refused.requests_contact  # asked again for their own

    # A contact Telegram cannot attribute to anyone is refused the same way.
    standin.share_contact(intruder, MEMBER_PHONE, user_id=None)
    (refused,) = await standin.wait_for_messages(5002, 1)
    assert refused.text == t("en", "link.not_own_contact")

    # Still not linked: the member-only /points asks to link first.
    standin.send_text(intruder, "/points")
    (points,) = await standin.wait_for_messages(5002, 1)
    assert points.text == t("en", "link.required")


async def test_a_sticker_gets_a_polite_answer(polling_bot: App, standin: BotApiStandIn) -> None:
    t = polling_bot.translator
    mei = standin.user(MEI, "Mei", language_code="en-US")
    standin.send_sticker(mei)
    (answer,) = await standin.wait_for_messages(MEI, 1)
    assert answer.text == t("en", "other.unsupported")


async def test_typed_commands_are_read_whatever_their_case_or_bot_name(
    polling_bot: App, standin: BotApiStandIn
) -> None:
    t = polling_bot.translator
    mei = standin.user(MEI, "Mei", language_code="en")
    standin.send_text(mei, f"/LANGUAGE@{standin.bot_user['username']}")
    (menu,) = await standin.wait_for_messages(MEI, 1)
    assert menu.text == t("en", "language.choose")


async def test_the_command_menu_is_registered_in_chinese_and_english(
    polling_bot: App, standin: BotApiStandIn
) -> None:
    conversation = polling_bot.conversation
    for language_code, lang in (("zh", "zh"), ("en", "en"), ("", "en")):
        registered = standin.commands[("default", language_code)]
        assert [(c["command"], c["description"]) for c in registered] == \
            conversation.bot_commands(lang)
    assert "points" in standin.commands_for("zh")
    # Chinese descriptions really are Chinese, not the English fallback.
    assert standin.commands[("default", "zh")] != standin.commands[("default", "en")]
