"""Joining in the chat the way people really answer: typed dates in any usual form, skip,
yes and no in words, and a command in the middle that does not throw the answers away."""

from __future__ import annotations

from datetime import date

from bot.bootstrap import App
from handlers.types import InboundKind, OutgoingMessage
from tests.support.conversation import inbound, press, say

NEWCOMER = 7707
PHONE = "+8613900139000"


async def _to_the_birthday_question(app: App, name: str = "Han Meimei") -> None:
    await say(app, "/start", user=NEWCOMER)
    contact = inbound(InboundKind.CONTACT, PHONE, user=NEWCOMER)
    contact = type(contact)(**{**contact.__dict__, "contact_user_id": str(NEWCOMER)})
    offer = await app.conversation.handle(contact)
    assert [m.key for m in offer] == ["link.no_match", "join.offer"]
    (ask,) = await press(app, "join:yes", user=NEWCOMER)
    assert ask.key == "join.ask_name"
    (birthday,) = await say(app, name, user=NEWCOMER)
    assert birthday.key == "join.ask_birthday"


def _has_skip(message: OutgoingMessage) -> bool:
    return any(b.data == "join:skipbd" for row in message.buttons for b in row)


async def _joined(app: App) -> tuple[str, date | None, bool]:
    async with app.uow_factory() as uow:
        member = await uow.members.get_by_phone(PHONE)
    assert member is not None
    return member.name, member.birthday, member.marketing_consent


async def test_an_invalid_birthday_shows_the_skip_button_again(app: App) -> None:
    await _to_the_birthday_question(app)
    (bad,) = await say(app, "sometime in spring", user=NEWCOMER)
    assert bad.key == "join.bad_birthday" and _has_skip(bad)
    (bad,) = await say(app, "1990-02-30", user=NEWCOMER)
    assert bad.key == "join.bad_birthday" and _has_skip(bad)
    (consent,) = await press(app, "join:skipbd", user=NEWCOMER)
    assert consent.key == "join.ask_consent"


async def test_skip_typed_in_either_language_skips_the_birthday(app: App) -> None:
    await _to_the_birthday_question(app)
    (consent,) = await say(app, "跳过", user=NEWCOMER)
    assert consent.key == "join.ask_consent"
    (welcome, _menu) = await say(app, "no", user=NEWCOMER)  # consent typed, not pressed
    assert welcome.key == "join.welcome"
    assert await _joined(app) == ("Han Meimei", None, False)


async def test_slashes_and_chinese_dates_are_read_as_the_birthday(app: App) -> None:
    for typed, meant in (("1999/2/3", date(1999, 2, 3)), ("1999年2月3日", date(1999, 2, 3))):
        async with app.uow_factory() as uow:  # each round joins afresh
            chat = await uow.chat_users.get("telegram", str(NEWCOMER))
            member = await uow.members.get_by_phone(PHONE)
            if chat is not None and member is not None:
                chat.member_id = None
                await uow.chat_users.save(chat)
                member.phone = None
                await uow.members.update(member)
                await uow.commit()
        await _to_the_birthday_question(app)
        (consent,) = await say(app, typed, user=NEWCOMER)
        assert consent.key == "join.ask_consent", typed
        (welcome, _menu) = await say(app, "是", user=NEWCOMER)
        assert welcome.key == "join.welcome"
        _name, birthday, consent_given = await _joined(app)
        assert birthday == meant and consent_given is True


async def test_a_command_while_joining_keeps_the_name_and_birthday(app: App) -> None:
    await _to_the_birthday_question(app, name="Wang Fang")
    help_, resumed, again = await say(app, "/help", user=NEWCOMER)
    assert help_.key == "help.text"
    assert resumed.key == "join.resumed" and again.key == "join.ask_birthday"
    assert "Wang Fang" in again.text and _has_skip(again)
    (consent,) = await say(app, "1988-08-08", user=NEWCOMER)
    assert consent.key == "join.ask_consent"
    replies = await say(app, "/language", user=NEWCOMER)  # another command at the last step
    assert [m.key for m in replies] == ["language.choose", "join.resumed", "join.ask_consent"]
    (welcome, _menu) = await press(app, "join:consent:y", user=NEWCOMER)
    assert welcome.key == "join.welcome"
    assert await _joined(app) == ("Wang Fang", date(1988, 8, 8), True)


async def test_cancel_while_joining_ends_it(app: App) -> None:
    await _to_the_birthday_question(app)
    (cancelled,) = await say(app, "/cancel", user=NEWCOMER)
    assert cancelled.key == "cancel.done"
    (after,) = await say(app, "1990-01-01", user=NEWCOMER)
    assert after.key != "join.ask_consent"
