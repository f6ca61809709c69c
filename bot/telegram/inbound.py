"""Reading Telegram updates (aiogram's or PTB's) into Inbound values."""

from __future__ import annotations

from typing import Any

from handlers.types import Inbound, InboundKind

CHANNEL = "telegram"

# Message kinds we do not understand, in the order we look for them: the first one present
# becomes the payload of an OTHER inbound, so the conversation can answer politely.
_OTHER_CONTENT = (
    "sticker", "voice", "video_note", "video", "animation", "audio", "document", "location",
    "venue", "poll", "dice", "game", "story",
)


def remember_bot_username(conversation: Any, username: str | None) -> None:
    """Tell the conversation the bot's @name once Telegram has said it (the surveys' referral
    link names the bot); a conversation without dependencies (a test double) is left alone."""
    deps = getattr(conversation, "deps", None)
    # A name already set (by a test, or an earlier start) is kept.
    if deps is not None and username and getattr(deps, "bot_username", None) is None:
        deps.bot_username = username


def parse_command(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """("points", "args") for "/Points@our_bot args"; None when it is no command for us."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, rest = text.partition(" ")
    name, _, addressee = head[1:].partition("@")
    if not name:
        return None
    # In a group "/start@other_bot" belongs to another bot; it is plain text for us.
    if addressee and bot_username and addressee.lower() != bot_username.lower():
        return None
    return name.lower(), rest.strip()


def inbound_from_message(message: Any, bot_username: str | None) -> Inbound | None:
    """The Inbound for an aiogram or PTB Message; None for messages nobody sent (channels)."""
    user = getattr(message, "from_user", None)
    if user is None or getattr(user, "is_bot", False):
        return None
    common: dict[str, Any] = {
        "channel": CHANNEL,
        "user_id": str(user.id),
        "chat_id": str(message.chat.id),
        "language_code": getattr(user, "language_code", None),
        "display_name": getattr(user, "full_name", "") or "",
        "message_id": str(message.message_id),
        "is_private": str(message.chat.type) in ("private", "ChatType.PRIVATE"),
        "thread_id": _thread_of(message),
        "reply_to_message_id": str(message.reply_to_message.message_id)
        if getattr(message, "reply_to_message", None) is not None
        else None,
    }
    contact = getattr(message, "contact", None)
    if contact is not None:
        owner = getattr(contact, "user_id", None)
        return Inbound(
            kind=InboundKind.CONTACT,
            payload=contact.phone_number,
            contact_user_id=str(owner) if owner is not None else None,
            **common,
        )
    text = getattr(message, "text", None)
    if text is not None:
        command = parse_command(text, bot_username)
        if command is not None:
            return Inbound(
                kind=InboundKind.COMMAND, command=command[0], payload=command[1], **common
            )
        return Inbound(kind=InboundKind.TEXT, payload=text, **common)
    photo = getattr(message, "photo", None)
    if photo:
        # The last size is the largest.
        caption = getattr(message, "caption", None) or ""
        return Inbound(kind=InboundKind.PHOTO, payload=photo[-1].file_id, text=caption, **common)
    kind = next((name for name in _OTHER_CONTENT if getattr(message, name, None)), "")
    return Inbound(kind=InboundKind.OTHER, payload=kind, **common)


def inbound_from_callback(query: Any) -> Inbound | None:
    """The Inbound for a pressed inline button (aiogram or PTB CallbackQuery)."""
    message = getattr(query, "message", None)
    if message is None:
        # Buttons of inline-mode messages have no chat; we never send those.
        return None
    user = query.from_user
    return Inbound(
        channel=CHANNEL,
        user_id=str(user.id),
        chat_id=str(message.chat.id),
        kind=InboundKind.BUTTON,
        payload=query.data or "",
        language_code=getattr(user, "language_code", None),
        display_name=getattr(user, "full_name", "") or "",
        message_id=str(message.message_id),
        callback_id=str(query.id),
        is_private=str(message.chat.type) in ("private", "ChatType.PRIVATE"),
        thread_id=_thread_of(message),
    )


def _thread_of(message: Any) -> str | None:
    """The forum topic a message is in (replies must go back into it), or None."""
    if getattr(message, "is_topic_message", False) and getattr(message, "message_thread_id", 0):
        return str(message.message_thread_id)
    return None
