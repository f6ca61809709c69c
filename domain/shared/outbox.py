"""Queueing a proactive message in the caller's transaction: the one way every feature speaks
to members and staff (the sender in scheduler/ delivers it under domain.messaging.rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.messaging.model import MessageKind, OutboxMessage

if TYPE_CHECKING:
    from domain.shared.ports import UnitOfWork

Buttons = list[list[dict[str, str]]]


async def queue_messages(
    uow: UnitOfWork, messages: Sequence[OutboxMessage], now: datetime
) -> int:
    """Queue many messages in the caller's transaction, in batches (a campaign wave of 100,000
    rows is not 100,000 statements); how many were new."""
    for message in messages:
        _stamp(message, now)
    return await uow.outbox.add_many(messages)


async def queue_message(uow: UnitOfWork, message: OutboxMessage, now: datetime) -> bool:
    """Queue `message` in the caller's transaction; False when its dedupe key was queued before."""
    _stamp(message, now)
    return await uow.outbox.add(message)


def _stamp(message: OutboxMessage, now: datetime) -> None:
    """A message queued without times was made now and may go out now."""
    message.created_at = message.created_at or now
    message.next_attempt_at = message.next_attempt_at or now


async def queue_to_member(
    uow: UnitOfWork,
    member_id: int,
    key: str,
    params: dict[str, Any],
    dedupe: str,
    now: datetime,
    *,
    buttons: Buttons | None = None,
    photo_file_id: str | None = None,
    quiet_hours: bool = False,
) -> bool:
    """A service message to the member in the chat they used last that still reaches them;
    False when they have none (or the dedupe key was queued before). Answers a member waits
    for go day or night; `quiet_hours` holds what nobody asked for at that moment."""
    chat = (await uow.chat_users.reachable_chats([member_id])).get(member_id)
    if chat is None:
        return False
    return await queue_message(
        uow,
        OutboxMessage(
            dedupe_key=dedupe,
            chat_id=chat.chat_id,
            chat_user_id=chat.chat_user_id,
            member_id=member_id,
            kind=MessageKind.SERVICE,
            message_key=key,
            params=params,
            buttons=buttons or [],
            photo_file_id=photo_file_id,
            quiet_hours=quiet_hours,
        ),
        now,
    )


async def queue_to_staff(
    uow: UnitOfWork,
    telegram_user_id: str,
    key: str,
    params: dict[str, Any],
    dedupe: str,
    now: datetime,
    *,
    default_language: str,
    buttons: Buttons | None = None,
    photo_file_id: str | None = None,
) -> bool:
    """A message to one staff member's private chat with the bot (its id is their user id), in
    the language they chose there, else `default_language` (the desk's)."""
    chat = await uow.chat_users.get("telegram", telegram_user_id)
    language = chat.effective_language() if chat is not None else default_language
    return await queue_to_chat(
        uow, telegram_user_id, key, params, dedupe, now, language=language, buttons=buttons,
        photo_file_id=photo_file_id,
    )


async def queue_to_chat(
    uow: UnitOfWork,
    chat_id: str,
    key: str,
    params: dict[str, Any],
    dedupe: str,
    now: datetime,
    *,
    language: str,
    buttons: Buttons | None = None,
    photo: bytes | None = None,
    photo_file_id: str | None = None,
    topic: str | None = None,
    topic_title: str | None = None,
) -> bool:
    """A service message to a chat that is no member's, in `language`: the staff group (under
    `topic` when given) or a staff member's private chat. False when the dedupe key was
    queued before."""
    return await queue_message(
        uow,
        OutboxMessage(
            dedupe_key=dedupe,
            chat_id=chat_id,
            kind=MessageKind.SERVICE,
            message_key=key,
            params=params,
            buttons=buttons or [],
            photo=photo,
            photo_file_id=photo_file_id,
            topic=topic,
            topic_title=topic_title,
            language=language,
        ),
        now,
    )
