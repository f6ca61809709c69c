"""The framework-neutral pieces both Telegram adapters share: commands, splitting, planning."""

from __future__ import annotations

import asyncio

import pytest

from bot.telegram.inbound import parse_command
from bot.telegram.replies import MAX_TEXT, ChatLocks, Part, plan_parts, split_text, utf16_len
from handlers.types import Keyboard, OutgoingMessage, RenderedButton


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/points", ("points", "")),
        ("/Points@RetailBot_Test_Bot  ", ("points", "")),
        ("/start store_SH01", ("start", "store_SH01")),
        ("/start@retailbot_test_bot store_SH01 extra", ("start", "store_SH01 extra")),
        ("/start@other_bot", None),  # meant for another bot in a group
        ("/", None),
        ("/@retailbot_test_bot", None),
        ("points", None),
    ],
)
def test_commands_are_read_without_slash_bot_name_or_case(
    text: str, expected: tuple[str, str] | None
) -> None:
    assert parse_command(text, "retailbot_test_bot") == expected


def test_a_short_text_is_one_piece() -> None:
    assert split_text("hello") == ["hello"]
    assert split_text("x" * MAX_TEXT) == ["x" * MAX_TEXT]


def test_a_long_text_is_cut_at_line_breaks_and_nothing_is_lost() -> None:
    lines = [f"line {i:03d} " + "ab" * 40 for i in range(120)]
    pieces = split_text("\n".join(lines))
    assert len(pieces) == 3
    assert all(utf16_len(piece) <= MAX_TEXT for piece in pieces)
    assert "\n".join(pieces) == "\n".join(lines)


def test_a_text_without_breaks_is_cut_hard_and_emoji_count_double() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units: Telegram would refuse it in one message
    pieces = split_text(text)
    assert [utf16_len(piece) for piece in pieces] == [4096, 1904]
    assert "".join(pieces) == text


def test_inline_buttons_go_on_the_last_piece_and_the_reply_keyboard_on_the_first() -> None:
    buttons = ((RenderedButton("OK", "ok"),),)
    parts = plan_parts(OutgoingMessage("k", "a\n" * 3000, buttons=buttons,
                                       keyboard=Keyboard.REQUEST_CONTACT,
                                       contact_button_text="Share"))
    assert len(parts) == 2
    assert parts[0].keyboard is Keyboard.REQUEST_CONTACT and not parts[0].buttons
    assert parts[1].buttons == buttons and parts[1].keyboard is Keyboard.NONE


def test_one_short_message_cannot_carry_both_markups_so_the_buttons_win(
    caplog: pytest.LogCaptureFixture,
) -> None:
    buttons = ((RenderedButton("OK", "ok"),),)
    (part,) = plan_parts(OutgoingMessage("k", "hi", buttons=buttons, keyboard=Keyboard.REMOVE))
    assert part == Part("hi", buttons=buttons)
    assert "keyboard change was not sent" in caplog.text


def test_a_photo_takes_a_short_text_as_caption_and_a_long_one_after_it() -> None:
    (photo,) = plan_parts(OutgoingMessage("k", "caption", photo=b"jpg"))
    assert (photo.text, photo.photo) == ("caption", b"jpg")
    photo, text = plan_parts(OutgoingMessage("k", "c" * 2000, photo=b"jpg"))
    assert (photo.text, photo.photo, text.text) == ("", b"jpg", "c" * 2000)


def test_the_conversations_callback_only_answer_sends_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert plan_parts(OutgoingMessage(key="", text="", answer_callback="42")) == []
    assert caplog.text == ""


async def test_messages_of_one_chat_wait_for_each_other_and_other_chats_do_not() -> None:
    locks = ChatLocks()
    order: list[str] = []
    release = asyncio.Event()

    async def handle(chat: str, name: str) -> None:
        async with locks.hold(chat):
            order.append(f"{name} start")
            if name == "first":
                await asyncio.wait_for(release.wait(), 2)
            order.append(f"{name} end")

    first = asyncio.create_task(handle("1", "first"))
    await asyncio.sleep(0)
    second = asyncio.create_task(handle("1", "second"))
    other = asyncio.create_task(handle("2", "other"))
    await asyncio.wait_for(other, 2)
    assert order == ["first start", "other start", "other end"]
    release.set()
    await asyncio.wait_for(asyncio.gather(first, second), 2)
    assert order[3:] == ["first end", "second start", "second end"]
    assert len(locks) == 0  # nothing kept for chats that went quiet
