"""The outbox's Messenger on python-telegram-bot: PTB's errors mapped to the domain's."""

from __future__ import annotations

import datetime as dt
import warnings

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
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

POOL_SIZE = 32  # enough connections for the sender's concurrent calls


class PtbMessenger:
    """Sends outbox messages with a PTB Bot; raises only domain SendErrors."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

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
        self, chat_id: str, text: str, photo: bytes | None = None, buttons: Buttons = ()
    ) -> None:
        for call in plan_calls(text, photo, buttons):
            await self._send(int(chat_id), call)

    async def _send(self, chat_id: int, call: Call) -> None:
        markup = _markup(call.buttons)
        try:
            if call.photo is not None:
                await self.bot.send_photo(
                    chat_id,
                    InputFile(call.photo, filename=photo_filename(call.photo)),
                    caption=call.text or None,
                    reply_markup=markup,
                )
            else:
                await self.bot.send_message(chat_id, call.text, reply_markup=markup)
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
