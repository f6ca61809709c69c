"""What members really type, through the whole conversation on a real SQLite file: guesses to
tap when the bot is unsure, mistyped commands, Chinese slips, small talk during a complaint."""

from __future__ import annotations

from bot.bootstrap import App
from tests.support.conversation import MEMBER, press, say
from tests.support.coupons import add_member, seed_stores
from tests.support.tickets import STAFF_GROUP, complain, outbox_to, seed_desk

ZH_MEMBER = 503  # a member who chose Chinese


async def _member(app: App, points: int = 600) -> None:
    shop = await seed_stores(app)
    await add_member(app, "1", store=shop.shanghai, chat=MEMBER, points=points)
    await add_member(app, "3", store=shop.shanghai, chat=ZH_MEMBER, points=points, language="zh")


def _data(message: object) -> list[str]:
    return [b.data for row in getattr(message, "buttons", ()) for b in row]


async def test_when_unsure_the_bot_asks_with_its_top_guesses_and_the_choice_runs(
    app: App,
) -> None:
    await _member(app)
    (asked,) = await say(app, "points coupon")
    assert asked.key == "guess.ask"
    guesses = _data(asked)
    assert 2 <= len(guesses) <= 3 and "dym:i:exchange" in guesses
    assert "Exchange points" in asked.buttons[guesses.index("dym:i:exchange")][0].text
    menu, _later = await press(app, "dym:i:exchange")
    assert menu.key == "exchange.menu" and menu.answer_callback == "cb"


async def test_a_message_not_understood_gets_the_menu_to_tap_in_the_members_language(
    app: App,
) -> None:
    await _member(app)
    (lost,) = await say(app, "qwxz vbnm", user=ZH_MEMBER)
    assert lost.key == "guess.none" and "没有看懂" in lost.text
    assert _data(lost)[:2] == ["dym:i:points", "dym:i:coupons"]
    assert lost.buttons[0][0].text == "⭐ 我的积分"
    (points,) = await press(app, "dym:i:points", user=ZH_MEMBER)
    assert points.key == "points.summary"


async def test_a_mistyped_command_suggests_the_closest_one(app: App) -> None:
    await _member(app)
    (suggested,) = await say(app, "/point")
    assert suggested.key == "guess.command" and "/point" in suggested.text
    assert _data(suggested)[0] == "dym:c:points"
    assert suggested.buttons[0][0].text == "/points"
    (points,) = await press(app, "dym:c:points")
    assert points.key == "points.summary"
    (unknown,) = await say(app, "/frobnicate")  # nothing close: no far-fetched guess
    assert unknown.key == "command.unknown" and not unknown.buttons
    (forged,) = await press(app, "dym:c:redeem")  # only what the router has; runs as typed
    assert forged.key == "command.unknown"


async def test_a_forged_or_stale_guess_button_changes_nothing(app: App) -> None:
    await _member(app)
    (stale,) = await press(app, "dym:i:no_such_intent")
    assert stale.key == "guess.expired"
    (faq,) = await press(app, "dym:f:hours")
    assert faq.key == "faq.answer" and "8:00" in faq.text


async def test_chinese_keyboard_slips_and_shared_words_find_the_right_screen(app: App) -> None:
    await _member(app, points=600)
    (coupons,) = await say(app, "我的优惠卷", user=ZH_MEMBER)
    assert coupons.key == "coupons.none"
    (points,) = await say(app, "查一下我的积份", user=ZH_MEMBER)
    assert points.key == "points.summary"
    menu, _later = await say(app, "积分能换什么", user=ZH_MEMBER)
    assert menu.key == "exchange.menu"
    menu, _later = await say(app, "what can I get with my points")
    assert menu.key == "exchange.menu"
    (earn,) = await say(app, "how do I earn points")
    assert earn.key == "faq.answer" and "every purchase" in earn.text
    (earn,) = await say(app, "怎样获得积分", user=ZH_MEMBER)
    assert earn.key == "faq.answer" and "每笔消费" in earn.text


async def test_greetings_thanks_and_small_talk_are_answered_kindly(app: App) -> None:
    await _member(app)
    (hello,) = await say(app, "hi")
    assert hello.key == "social.greeting_member" and "Member 1" in hello.text
    (thanks,) = await say(app, "谢谢", user=ZH_MEMBER)
    assert thanks.key == "social.thanks" and "不客气" in thanks.text
    (chat,) = await say(app, "are you a robot")
    assert chat.key == "social.smalltalk"
    (stranger,) = await say(app, "hello", user=909)
    assert stranger.key == "social.greeting"


async def test_while_a_complaint_is_open_thanks_and_greetings_are_answered_not_filed(
    app: App,
) -> None:
    await seed_desk(app)
    await complain(app)
    for text, key in (("thanks", "social.thanks"), ("谢谢", "social.thanks"),
                      ("hello", "social.greeting_member"), ("ok", "social.smalltalk")):
        (answer,) = await say(app, text)
        assert answer.key == key, text
    (added,) = await say(app, "the cap was broken too")
    assert added.key == "complaint.added"
    (added,) = await say(app, "I bought it yesterday evening around six")
    assert added.key == "complaint.added"
    async with app.uow_factory() as uow:
        thread = await uow.tickets.messages(1, 10)
    assert [m.text for m in thread] == [
        "The milk was sour", "the cap was broken too", "I bought it yesterday evening around six"
    ]
    relayed = [
        r for r in await outbox_to(app, STAFF_GROUP) if r.message_key == "desk.member_wrote"
    ]
    assert len(relayed) == 2
