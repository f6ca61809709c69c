"""What both outbox messengers share: the Bot API calls, cutting a message into them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.telegram.replies import MAX_CAPTION, photo_filename, split_text, utf16_len
from domain.messaging.ports import Buttons, ChatUnreachable, MessageRejected, SendError

log = logging.getLogger(__name__)

# 400 answers that mean the chat is gone rather than the message being wrong.
_GONE = ("chat not found", "user is deactivated", "peer_id_invalid", "bot was kicked")


@dataclass(frozen=True)
class Call:
    """One Bot API call: a text, or a photo (bytes, or a file id) with an optional caption."""

    text: str
    photo: bytes | str | None = None
    buttons: Buttons = ()


def plan_calls(text: str, photo: bytes | str | None, buttons: Buttons) -> list[Call]:
    """A photo carries the text as caption when it fits; long texts are split; the buttons go on
    the last call, where the person is reading."""
    texts = split_text(text) if text else []
    calls: list[Call] = []
    if photo is not None:
        if len(texts) == 1 and utf16_len(texts[0]) <= MAX_CAPTION:
            calls.append(Call(texts[0], photo))
            texts = []
        else:
            calls.append(Call("", photo))
    calls.extend(Call(piece) for piece in texts)
    if not calls:
        raise ValueError("a message needs a text or a photo")
    if buttons:
        last = calls[-1]
        calls[-1] = Call(last.text, last.photo, buttons)
    return calls


def chat_is_gone(description: str) -> bool:
    """Whether a 400 description says the chat no longer exists for us."""
    lowered = description.lower()
    return any(marker in lowered for marker in _GONE)


class BotApiMessenger:
    """The outbox's Messenger over a Bot API client; a subclass names its framework's pieces.

    aiogram and python-telegram-bot name methods and arguments as the Bot API does, so the
    calls are written once here; what differs (file and button types, which exception means
    what) is in the four hooks below. Only domain SendErrors leave this class.
    """

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self._no_topics: set[str] = set()  # groups found to have no topics for us

    # -- hooks -------------------------------------------------------------------------------

    def input_file(self, data: bytes, filename: str) -> Any:
        raise NotImplementedError

    def markup(self, buttons: Buttons) -> Any:
        raise NotImplementedError

    def reply_parameters(self, message_id: int) -> Any:
        raise NotImplementedError

    def send_error(self, exc: Exception) -> SendError:
        """The domain's name for what the framework raised."""
        raise NotImplementedError

    # -- the Messenger port -------------------------------------------------------------------

    async def send_text(
        self,
        chat_id: str,
        text: str,
        photo: bytes | None = None,
        buttons: Buttons = (),
        *,
        thread_id: str | None = None,
        reply_to: str | None = None,
        photo_file_id: str | None = None,
    ) -> str | None:
        sent: str | None = None
        for index, call in enumerate(plan_calls(text, photo_file_id or photo, buttons)):
            # Only the first call quotes the message replied to; the rest follow it.
            sent = await self._send(
                int(chat_id), call, thread_id, reply_to if index == 0 else None
            )
        return sent

    async def create_topic(self, chat_id: str, name: str) -> str | None:
        if chat_id in self._no_topics:
            return None
        try:
            topic = await self.bot.create_forum_topic(chat_id=int(chat_id), name=name[:128])
        except Exception as exc:
            error = self.send_error(exc)
            if not isinstance(error, MessageRejected):
                raise error from exc
            # Not a forum, or no right to manage topics: the group gets plain replies.
            log.warning(
                "no forum topic in chat %s (%s); replying to messages instead", chat_id, error
            )
            self._no_topics.add(chat_id)
            return None
        return str(topic.message_thread_id)

    async def _send(
        self, chat_id: int, call: Call, thread_id: str | None, reply_to: str | None
    ) -> str:
        markup = self.markup(call.buttons)
        thread = int(thread_id) if thread_id is not None else None
        reply = self.reply_parameters(int(reply_to)) if reply_to is not None else None
        try:
            if call.photo is not None:
                photo = (
                    call.photo
                    if isinstance(call.photo, str)
                    else self.input_file(call.photo, photo_filename(call.photo))
                )
                message = await self.bot.send_photo(
                    chat_id,
                    photo,
                    caption=call.text or None,
                    reply_markup=markup,
                    message_thread_id=thread,
                    reply_parameters=reply,
                )
            else:
                message = await self.bot.send_message(
                    chat_id,
                    call.text,
                    reply_markup=markup,
                    message_thread_id=thread,
                    reply_parameters=reply,
                )
        except Exception as exc:
            raise self.send_error(exc) from exc
        return str(message.message_id)


def rejected_or_gone(description: str) -> SendError:
    """A 400: the chat is gone (unreachable) or this message can never be sent (rejected)."""
    if chat_is_gone(description):
        return ChatUnreachable(description)
    return MessageRejected(description)
