"""The outbox's Messenger on aiogram: Bot API calls, aiogram's errors mapped to the domain's."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

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


class AiogramMessenger:
    """Sends outbox messages with an aiogram Bot; raises only domain SendErrors."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @classmethod
    def from_settings(cls, settings: Settings) -> AiogramMessenger:
        from bot.telegram_aiogram import build_bot

        return cls(build_bot(settings))

    async def start(self) -> None:
        return None  # aiogram opens its HTTP session on the first call

    async def close(self) -> None:
        await self.bot.session.close()

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
                    BufferedInputFile(call.photo, filename=photo_filename(call.photo)),
                    caption=call.text or None,
                    reply_markup=markup,
                )
            else:
                await self.bot.send_message(chat_id, call.text, reply_markup=markup)
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


def _markup(buttons: Buttons) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )
