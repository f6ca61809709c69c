"""The outbox's Messenger on python-telegram-bot: PTB's errors mapped to the domain's."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    ReplyParameters,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.config import ConfigError, Settings
from bot.messenger_common import BotApiMessenger, rejected_or_gone
from domain.ports import (
    Buttons,
    ChatUnreachable,
    MessageRejected,
    RateLimited,
    SendError,
    TransientSendError,
)

POOL_SIZE = 32  # enough connections for the sender's concurrent calls


class PtbMessenger(BotApiMessenger):
    """Sends outbox messages with a PTB Bot; raises only domain SendErrors."""

    bot: Bot

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

    def input_file(self, data: bytes, filename: str) -> Any:
        return InputFile(data, filename=filename)

    def markup(self, buttons: Buttons) -> InlineKeyboardMarkup | None:
        if not buttons:
            return None
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                for row in buttons
            ]
        )

    def reply_parameters(self, message_id: int) -> ReplyParameters:
        return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)

    def send_error(self, exc: Exception) -> SendError:
        if isinstance(exc, Forbidden):
            return ChatUnreachable(exc.message)
        if isinstance(exc, RetryAfter):
            return RateLimited(retry_after_seconds(exc), exc.message)
        if isinstance(exc, ChatMigrated):
            return MessageRejected(f"the group moved to chat {exc.new_chat_id}")
        if isinstance(exc, BadRequest):
            return rejected_or_gone(exc.message)
        if isinstance(exc, TelegramError):  # NetworkError, TimedOut, server faults
            return TransientSendError(f"{type(exc).__name__}: {exc.message}")
        return TransientSendError(f"{type(exc).__name__}: {exc}")


def retry_after_seconds(exc: RetryAfter) -> float:
    """PTB 22 gives an int (deprecated) or a timedelta, depending on its settings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
