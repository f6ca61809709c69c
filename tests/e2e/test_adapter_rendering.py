"""How both adapters render replies and survive Telegram's refusals, over HTTP.

A scripted conversation stands in for the real one here, so each test can ask for exactly the
reply it examines (a 5000-character text, a photo, an edit of a vanished message, a crash);
the member story tests run the real conversation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from bot.telegram.replies import APOLOGY
from handlers.i18n import Translator
from handlers.types import Inbound, InboundKind, Keyboard, OutgoingMessage, RenderedButton
from tests.e2e.conftest import ErrorLog, e2e_settings, polling
from tests.support.standin import BotApiStandIn

CHAT = 7001
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8  # a header and bytes that must arrive intact

Script = Callable[[Inbound], list[OutgoingMessage]]


@dataclass
class ScriptedConversation:
    """Answers each inbound with whatever the test's script returns, and remembers inbounds."""

    script: Script = lambda inbound: []
    seen: list[Inbound] = field(default_factory=list)

    async def handle(self, inbound: Inbound) -> list[OutgoingMessage]:
        self.seen.append(inbound)
        return self.script(inbound)

    def bot_commands(self, lang: str) -> list[tuple[str, str]]:
        return [("start", "开始" if lang == "zh" else "Start")]


@dataclass
class ScriptedApp:
    """Just what an adapter reads from the App."""

    settings: object
    conversation: ScriptedConversation
    translator: Translator = field(default_factory=Translator)


def say(text: str, **kw: object) -> OutgoingMessage:
    return OutgoingMessage(key="test", text=text, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def scripted(
    standin: BotApiStandIn, tmp_path: object, engine: str
) -> AsyncIterator[ScriptedConversation]:
    """The real adapter of `engine`, polling the stand-in, in front of a scripted conversation."""
    conversation = ScriptedConversation()
    app = ScriptedApp(e2e_settings(standin, tmp_path, engine), conversation)
    async with polling(app, standin, engine):  # type: ignore[arg-type]
        yield conversation


async def test_what_a_person_does_reaches_the_conversation_as_inbound_values(
    scripted: ScriptedConversation, standin: BotApiStandIn
) -> None:
    scripted.script = lambda inbound: [say("ok", buttons=((RenderedButton("Go", "go:1"),),))]
    mei = standin.user(CHAT, "Mei", last_name="Wang", language_code="zh-hans")

    standin.send_text(mei, "/Start@retailbot_test_bot store_SH01")
    standin.send_text(mei, "hello there")
    standin.share_contact(mei, "8613800138000")
    standin.send_photo(mei, caption="receipt")
    (first, *_rest) = await standin.wait_for_messages(CHAT, 4)
    standin.press(mei, first, "go:1")
    await standin.wait_for_messages(CHAT, 1)

    command, text, contact, photo, button = scripted.seen
    assert (command.kind, command.command, command.payload) == (
        InboundKind.COMMAND, "start", "store_SH01")
    assert (command.channel, command.user_id, command.chat_id) == ("telegram", "7001", "7001")
    assert command.language_code == "zh-hans" and command.display_name == "Mei Wang"
    assert command.is_private
    assert (text.kind, text.payload) == (InboundKind.TEXT, "hello there")
    assert (contact.kind, contact.payload, contact.contact_user_id) == (
        InboundKind.CONTACT, "8613800138000", "7001")
    assert photo.kind is InboundKind.PHOTO and photo.payload.endswith("800")  # largest size
    assert (button.kind, button.payload) == (InboundKind.BUTTON, "go:1")
    assert button.message_id == str(first.message_id) and button.callback_id


async def test_a_long_text_is_split_below_telegrams_limit_with_buttons_on_the_last_piece(
    scripted: ScriptedConversation, standin: BotApiStandIn
) -> None:
    paragraphs = [f"{i:04d} " + "货" * 95 for i in range(50)]  # 50 × 100 = 5000 characters
    long_text = "\n".join(paragraphs)
    scripted.script = lambda inbound: [
        say(long_text, buttons=((RenderedButton("More", "more"),),), keyboard=Keyboard.REMOVE)
    ]
    standin.send_text(standin.user(CHAT), "/list")
    first, second = await standin.wait_for_messages(CHAT, 2)
    assert len(first.text) <= 4096 and len(second.text) <= 4096
    assert (first.text + "\n" + second.text) == long_text  # cut at a line break, nothing lost
    assert first.inline_buttons == [] and first.removes_keyboard
    assert [b["callback_data"] for b in second.inline_buttons] == ["more"]
    await standin.assert_quiet(CHAT)


async def test_a_photo_is_uploaded_with_its_caption_and_keyboard(
    scripted: ScriptedConversation, standin: BotApiStandIn
) -> None:
    scripted.script = lambda inbound: [
        say("Your coupon", photo=PNG, buttons=((RenderedButton("Use", "use:1"),),))
    ]
    standin.send_text(standin.user(CHAT), "/coupon")
    (sent,) = await standin.wait_for_messages(CHAT, 1)
    assert sent.method == "sendphoto"
    assert sent.photo == PNG
    assert sent.text == "Your coupon"
    assert [b["text"] for b in sent.inline_buttons] == ["Use"]


async def test_the_share_contact_keyboard_has_one_button_that_requests_the_contact(
    scripted: ScriptedConversation, standin: BotApiStandIn
) -> None:
    scripted.script = lambda inbound: [
        say("Share please", keyboard=Keyboard.REQUEST_CONTACT, contact_button_text="📱 Share")
    ]
    standin.send_text(standin.user(CHAT), "/start")
    (sent,) = await standin.wait_for_messages(CHAT, 1)
    assert sent.reply_markup == {
        "keyboard": [[{"text": "📱 Share", "request_contact": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


async def test_an_edit_of_a_vanished_message_becomes_a_new_message(
    scripted: ScriptedConversation, standin: BotApiStandIn
) -> None:
    def script(inbound: Inbound) -> list[OutgoingMessage]:
        if inbound.kind is InboundKind.BUTTON:
            return [say("Chosen", edit=True, answer_callback=inbound.callback_id)]
        return [say("Choose", buttons=((RenderedButton("A", "pick:a"),),))]

    scripted.script = script
    mei = standin.user(CHAT)
    standin.send_text(mei, "/choose")
    (menu,) = await standin.wait_for_messages(CHAT, 1)

    query = standin.press(mei, menu, "pick:a")
    (edited,) = await standin.wait_for_messages(CHAT, 1)
    assert edited.kind == "edit" and edited.text == "Chosen"
    assert standin.callback_answered(query["id"])

    standin.send_text(mei, "/choose")
    (menu,) = await standin.wait_for_messages(CHAT, 1)
    query = standin.press(mei, menu, "pick:a")
    standin.forget_message(CHAT, menu.message_id)  # deleted before the bot could edit it
    (fallback,) = await standin.wait_for_messages(CHAT, 1)
    assert fallback.kind == "send" and fallback.text == "Chosen"
    assert standin.callback_answered(query["id"])
    assert len(standin.calls_to("answerCallbackQuery")) == 2  # once per press, never twice


async def test_a_crash_in_the_conversation_is_logged_and_the_person_gets_an_apology(
    scripted: ScriptedConversation, standin: BotApiStandIn, bot_errors: ErrorLog
) -> None:
    def script(inbound: Inbound) -> list[OutgoingMessage]:
        if inbound.kind is InboundKind.BUTTON:
            raise RuntimeError("the till database is on fire")
        return [say("Choose", buttons=((RenderedButton("A", "pick:a"),),))]

    scripted.script = script
    bot_errors.expect("the conversation failed")
    mei = standin.user(CHAT, language_code="en")
    standin.send_text(mei, "/choose")
    (menu,) = await standin.wait_for_messages(CHAT, 1)
    query = standin.press(mei, menu, "pick:a")
    (apology,) = await standin.wait_for_messages(CHAT, 1)

    assert apology.text == Translator()("en", "error.unexpected")
    assert apology.text != APOLOGY  # the translated one, not the bilingual last resort
    assert standin.callback_answered(query["id"])  # no spinner left on the button
    (crash,) = bot_errors.matching("the conversation failed")
    assert crash.exc_info is not None and "on fire" in str(crash.exc_info[1])


async def test_a_blocked_chat_is_logged_as_a_warning_and_replies_resume_after_unblocking(
    scripted: ScriptedConversation, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    scripted.script = lambda inbound: [say(f"echo {inbound.payload}")]
    mei = standin.user(CHAT)
    standin.block(CHAT)
    with caplog.at_level(logging.WARNING, logger="bot.telegram.replies"):
        standin.send_text(mei, "one")
        await standin.wait_for_call("sendMessage", lambda call: call.status == 403)
        await standin.assert_quiet(CHAT, settle=0.1)
    assert any("blocked the bot" in r.getMessage() for r in caplog.records)

    standin.unblock(CHAT)
    standin.send_text(mei, "two")
    (reply,) = await standin.wait_for_messages(CHAT, 1)
    assert reply.text == "echo two"


async def test_a_reply_is_sent_once_after_the_wait_telegram_asks_for(
    scripted: ScriptedConversation, standin: BotApiStandIn
) -> None:
    scripted.script = lambda inbound: [say("points: 120")]
    standin.fail_next_with_retry_after(1, method="sendMessage", chat_id=CHAT)
    started = time.monotonic()
    standin.send_text(standin.user(CHAT), "/points")
    (reply,) = await standin.wait_for_messages(CHAT, 1, timeout=5)
    assert reply.text == "points: 120"
    assert time.monotonic() - started >= 0.9  # it waited as told instead of hammering
    assert [call.status for call in standin.calls_to("sendMessage")] == [429, 200]
    await standin.assert_quiet(CHAT)
