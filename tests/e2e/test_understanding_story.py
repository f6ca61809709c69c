"""A member who types as people really do, in Telegram over HTTP, on aiogram and PTB alike:
Chinese keyboard slips, a guess to tap when the bot is unsure, a mistyped command, small talk.
"""

from __future__ import annotations

from bot.bootstrap import App
from tests.e2e.conftest import MEI, MEMBER_POINTS, link_chat
from tests.support.standin import BotApiStandIn


async def test_a_member_is_understood_asked_when_unsure_and_never_left_at_a_dead_end(
    polling_bot: App, standin: BotApiStandIn
) -> None:
    t = polling_bot.translator
    mei = await link_chat(standin, MEI, language="zh-hans")

    # A pinyin keyboard's slip: 积份 for 积分.
    standin.send_text(mei, "查一下我的积份")
    (points,) = await standin.wait_for_messages(MEI, 1)
    assert f"积分：{MEMBER_POINTS}" in points.text

    # "What can points buy" is the exchange catalogue, not the balance.
    # With too few points for any reward, it says so and how many points each one still needs.
    standin.send_text(mei, "积分能换什么")
    short, later = await standin.wait_for_messages(MEI, 2)
    assert short.text == t("zh", "exchange.none_in_reach", balance=MEMBER_POINTS)
    assert f"还差 {500 - MEMBER_POINTS} 积分" in later.text and not later.inline_buttons

    # Greetings and thanks get a kind answer.
    standin.send_text(mei, "谢谢")
    (thanks,) = await standin.wait_for_messages(MEI, 1)
    assert thanks.text == t("zh", "social.thanks")

    # Unsure: the top guesses as buttons; tapping one runs it.
    standin.send_text(mei, "积分 优惠券")
    (asked,) = await standin.wait_for_messages(MEI, 1)
    assert asked.text == t("zh", "guess.ask")
    labels = [b["text"] for b in asked.inline_buttons]
    assert 2 <= len(labels) <= 3 and t("zh", "guess.label.exchange") in labels
    query = standin.press(mei, asked, standin.button_data(asked, t("zh", "guess.label.points")))
    (points,) = await standin.wait_for_messages(MEI, 1)
    assert f"积分：{MEMBER_POINTS}" in points.text and standin.callback_answered(query["id"])

    # A mistyped command: the closest one offered.
    standin.send_text(mei, "/point")
    (suggested,) = await standin.wait_for_messages(MEI, 1)
    assert suggested.text == t("zh", "guess.command", command="point")
    standin.press(mei, suggested, standin.button_data(suggested, "/points"))
    (points,) = await standin.wait_for_messages(MEI, 1)
    assert f"积分：{MEMBER_POINTS}" in points.text

    # Nothing understood: the menu to tap, not "send /help".
    standin.send_text(mei, "qwxz vbnm")
    (lost,) = await standin.wait_for_messages(MEI, 1)
    assert lost.text == t("zh", "guess.none") and len(lost.inline_buttons) >= 3
    await standin.assert_quiet(MEI)
