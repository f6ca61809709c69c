"""The outbox's Messenger on aiogram: Bot API calls, aiogram's errors mapped to the domain's."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)

from bot.config import Settings
from bot.messaging import photo_filename
from bot.messenger_common import Call, chat_is_gone, plan_calls
from domain.ports import (
    Buttons,
    ChatUnreachable,
    MessageRejected,
    RateLimited,
    TransientSendError,
)

log = logging.getLogger(__name__)


class AiogramMessenger:
    """Sends outbox messages with an aiogram Bot; raises only domain SendErrors."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._no_topics: set[str] = set()  # groups found to have no topics for us

    @classmethod
    def from_settings(cls, settings: Settings) -> AiogramMessenger:
        from bot.telegram_aiogram import build_bot

        return cls(build_bot(settings))

    async def start(self) -> None:
        return None  # aiogram opens its HTTP session on the first call

    async def close(self) -> None:
        await self.bot.session.close()

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
        except TelegramForbiddenError as exc:
            raise ChatUnreachable(exc.message) from exc
        except TelegramRetryAfter as exc:
            raise RateLimited(float(exc.retry_after), exc.message) from exc
        except TelegramBadRequest as exc:
            # Not a forum, or no right to manage topics: the group gets plain replies.
            log.warning("no forum topic in chat %s (%s); replying to messages instead",
                        chat_id, exc.message)
            self._no_topics.add(chat_id)
            return None
        except Exception as exc:
            raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
        return str(topic.message_thread_id)

    async def _send(
        self, chat_id: int, call: Call, thread_id: str | None, reply_to: str | None
    ) -> str:
        markup = _markup(call.buttons)
        thread = int(thread_id) if thread_id is not None else None
        reply = (
            ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        try:
            message: Message
            if call.photo is not None:
                photo = (
                    call.photo
                    if isinstance(call.photo, str)
                    else BufferedInputFile(call.photo, filename=photo_filename(call.photo))
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
        except TelegramForbiddenError as exc:
            raise ChatUnreachable(exc.message) from exc
        except TelegramRetryAfter as exc:
            raise RateLimited(float(exc.retry_after), exc.message) from exc
        except TelegramMigrateToChat as exc:
            raise MessageRejected(f"the group moved to chat {exc.migrate_to_chat_id}") from exc
        except (TelegramBadRequest, TelegramEntityTooLarge) as exc:
            if chat_is_gone(exc.message):
                raise ChatUnreachable(exc.message) from exc
            raise MessageRejected(exc.message) from exc
        except Exception as exc:  # server errors, network errors, timeouts, a restarting Telegram
            raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
        return str(message.message_id)


def _markup(buttons: Buttons) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )
