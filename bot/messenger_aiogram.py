"""The outbox's Messenger on aiogram: Bot API calls, aiogram's errors mapped to the domain's."""

from __future__ import annotations

from typing import Any

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
    ReplyParameters,
)

from bot.config import Settings
from bot.messenger_common import BotApiMessenger, rejected_or_gone
from domain.ports import (
    Buttons,
    ChatUnreachable,
    MessageRejected,
    RateLimited,
    SendError,
    TransientSendError,
)


class AiogramMessenger(BotApiMessenger):
    """Sends outbox messages with an aiogram Bot; raises only domain SendErrors."""

    bot: Bot

    @classmethod
    def from_settings(cls, settings: Settings) -> AiogramMessenger:
        from bot.telegram_aiogram import build_bot

        return cls(build_bot(settings))

    async def start(self) -> None:
        return None  # aiogram opens its HTTP session on the first call

    async def close(self) -> None:
        await self.bot.session.close()

    def input_file(self, data: bytes, filename: str) -> Any:
        return BufferedInputFile(data, filename=filename)

    def markup(self, buttons: Buttons) -> InlineKeyboardMarkup | None:
        if not buttons:
            return None
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
                for row in buttons
            ]
        )

    def reply_parameters(self, message_id: int) -> ReplyParameters:
        return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)

    def send_error(self, exc: Exception) -> SendError:
        if isinstance(exc, TelegramForbiddenError):
            return ChatUnreachable(exc.message)
        if isinstance(exc, TelegramRetryAfter):
            return RateLimited(float(exc.retry_after), exc.message)
        if isinstance(exc, TelegramMigrateToChat):
            return MessageRejected(f"the group moved to chat {exc.migrate_to_chat_id}")
        if isinstance(exc, TelegramBadRequest | TelegramEntityTooLarge):
            return rejected_or_gone(exc.message)
        # server errors, network errors, timeouts, a restarting Telegram
        return TransientSendError(f"{type(exc).__name__}: {exc}")
