"""The outbox's Messenger on python-telegram-bot: PTB's errors mapped to the domain's."""

from __future__ import annotations

import datetime as dt
import logging
import warnings

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.config import ConfigError, Settings
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

POOL_SIZE = 32  # enough connections for the sender's concurrent calls


class PtbMessenger:
    """Sends outbox messages with a PTB Bot; raises only domain SendErrors."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._no_topics: set[str] = set()  # groups found to have no topics for us

    @classmethod
    def from_settings(cls, settings: Settings) -> PtbMessenger:
        if not settings.bot_token:
            raise ConfigError("BOT_TOKEN is not set: create a bot with @BotFather and set it")
        api = settings.telegram_api_url.rstrip("/")
        request = HTTPXRequest(connection_pool_size=POOL_SIZE, pool_timeout=10.0)
        bot = Bot(
            settings.bot_token,
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            request=request,
        )
        return cls(bot)

    async def start(self) -> None:
        await self.bot.initialize()

    async def close(self) -> None:
        await self.bot.shutdown()

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
        except Forbidden as exc:
            raise ChatUnreachable(exc.message) from exc
        except RetryAfter as exc:
            raise RateLimited(retry_after_seconds(exc), exc.message) from exc
        except BadRequest as exc:
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
                    else InputFile(call.photo, filename=photo_filename(call.photo))
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
        except Forbidden as exc:
            raise ChatUnreachable(exc.message) from exc
        except RetryAfter as exc:
            raise RateLimited(retry_after_seconds(exc), exc.message) from exc
        except ChatMigrated as exc:
            raise MessageRejected(f"the group moved to chat {exc.new_chat_id}") from exc
        except BadRequest as exc:
            if chat_is_gone(exc.message):
                raise ChatUnreachable(exc.message) from exc
            raise MessageRejected(exc.message) from exc
        except TelegramError as exc:  # NetworkError, TimedOut, server faults
            raise TransientSendError(f"{type(exc).__name__}: {exc.message}") from exc
        except Exception as exc:
            raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
        return str(message.message_id)


def retry_after_seconds(exc: RetryAfter) -> float:
    """PTB 22 gives an int (deprecated) or a timedelta, depending on its settings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _markup(buttons: Buttons) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )
