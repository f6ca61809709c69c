"""Driving the conversation in tests: what a person sends (`say`, `press`, `photo`) and what
the bot shows back (`button`), without a messenger in between."""

from __future__ import annotations

from typing import Any

from bot.bootstrap import App
from handlers.types import Inbound, InboundKind, OutgoingMessage

MEMBER = 501  # Telegram user (and private chat) of the member most tests talk as


def inbound(
    kind: InboundKind,
    payload: str = "",
    *,
    user: int = MEMBER,
    chat: int | None = None,
    command: str = "",
    lang: str = "en",
    text: str = "",
    thread_id: str | None = None,
    reply_to: str | None = None,
    name: str = "",
    contact_of: str | None = None,
) -> Inbound:
    """One Telegram event from `user`, in their private chat unless `chat` says otherwise."""
    chat_id = user if chat is None else chat
    return Inbound(
        channel="telegram",
        user_id=str(user),
        chat_id=str(chat_id),
        kind=kind,
        payload=payload,
        command=command,
        language_code=lang,
        display_name=name,
        callback_id="cb" if kind is InboundKind.BUTTON else None,
        is_private=chat_id == user,
        text=text,
        thread_id=thread_id,
        reply_to_message_id=reply_to,
        contact_user_id=contact_of,
    )


async def say(app: App, text: str, **kw: Any) -> list[OutgoingMessage]:
    """Send a message: `/name args` is a command, anything else free text."""
    if text.startswith("/"):
        name, _, args = text[1:].partition(" ")
        return await app.conversation.handle(
            inbound(InboundKind.COMMAND, args, command=name, **kw)
        )
    return await app.conversation.handle(inbound(InboundKind.TEXT, text, **kw))


async def press(app: App, data: str, **kw: Any) -> list[OutgoingMessage]:
    """Press the inline button with callback data `data`."""
    return await app.conversation.handle(inbound(InboundKind.BUTTON, data, **kw))


async def photo(app: App, file_id: str, caption: str = "", **kw: Any) -> list[OutgoingMessage]:
    return await app.conversation.handle(inbound(InboundKind.PHOTO, file_id, text=caption, **kw))


def button(replies: list[OutgoingMessage], prefix: str) -> str:
    """The data of the first button whose data starts with `prefix`."""
    for message in replies:
        for row in message.buttons:
            for b in row:
                if b.data.startswith(prefix):
                    return b.data
    raise AssertionError(f"no button {prefix!r} in {[m.key for m in replies]}")
