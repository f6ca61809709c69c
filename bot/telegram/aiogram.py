"""The outbox's Messenger on aiogram: Bot API calls, aiogram's errors mapped to the domain's."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)

from bot.config import ConfigError, Settings
from bot.telegram.inbound import inbound_from_callback, inbound_from_message, remember_bot_username
from bot.telegram.messenger import BotApiMessenger, rejected_or_gone
from bot.telegram.replies import (
    ChatLocks,
    EditResult,
    Part,
    RetryLater,
    contact_button_text,
    is_not_modified,
    photo_filename,
    process,
)
from domain.messaging.ports import (
    Buttons,
    ChatUnreachable,
    MessageRejected,
    RateLimited,
    SendError,
    TransientSendError,
)
from handlers.types import Keyboard

if TYPE_CHECKING:
    from bot.bootstrap import App

class AiogramMessenger(BotApiMessenger):
    """Sends outbox messages with an aiogram Bot; raises only domain SendErrors."""

    bot: Bot

    @classmethod
    def from_settings(cls, settings: Settings) -> AiogramMessenger:
        pass

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

logger = logging.getLogger(__name__)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


def build_bot(settings: Settings) -> Bot:
    """A Bot talking to the configured Bot API server (Telegram's or a self-hosted one)."""
    if not settings.bot_token:
        raise ConfigError("BOT_TOKEN is not set: create a bot with @BotFather and set its token")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(token=settings.bot_token, session=session)


def build_dispatcher(app: App) -> Dispatcher:
    """A Dispatcher whose one router hands every message and button press to the conversation."""
    router = Router(name="retailbot")
    locks = ChatLocks()
    conversation = app.conversation
    translator = getattr(app, "translator", None)

    @router.message()
    async def on_message(message: Message, bot: Bot) -> None:
        """Any message: text, command, contact, photo, sticker..."""
        me = await bot.me()  # cached by aiogram after the first call
        inbound = inbound_from_message(message, me.username)
        if inbound is None:
            return
        async with locks.hold(inbound.chat_id):
            await process(conversation, inbound, AiogramSender(bot), translator)

    @router.callback_query()
    async def on_button(query: CallbackQuery, bot: Bot) -> None:
        """A pressed inline button."""
        inbound = inbound_from_callback(query)
        if inbound is None:
            await query.answer()  # nothing to do, but the client waits for an answer
            return
        async with locks.hold(inbound.chat_id):
            await process(conversation, inbound, AiogramSender(bot), translator)

    async def on_startup(bot: Bot) -> None:
        remember_bot_username(conversation, (await bot.me()).username)
        await register_commands(bot, conversation)

    dispatcher = Dispatcher(name="retailbot")
    dispatcher.include_router(router)
    dispatcher.startup.register(on_startup)
    return dispatcher


def build(app: App) -> tuple[Bot, Dispatcher]:
    """The Bot and Dispatcher for `app`, ready for polling or a webhook."""
    return build_bot(app.settings), build_dispatcher(app)


async def register_commands(bot: Bot, conversation: Any) -> None:
    """The command menu in Chinese, in English, and English for every other language."""
    try:
        for language_code in ("zh", "en", None):
            commands = [
                BotCommand(command=name, description=description)
                for name, description in conversation.bot_commands(language_code or "en")
            ]
            await bot.set_my_commands(commands, language_code=language_code)
    except Exception:
        # The bot still works without a command menu; the log says why it is missing.
        logger.exception("registering the command menu with Telegram failed")


async def run_polling(
    app: App, *, stop: asyncio.Event | None = None, polling_timeout: int = 10
) -> None:
    """Serve Telegram by long polling; `app` stays open for the caller.

    Without `stop` it runs until SIGINT/SIGTERM; with one it runs until the event is set
    (an embedding process or a test decides when to stop, and owns the signals).
    """
    bot, dispatcher = build(app)
    try:
        # getUpdates is refused while a webhook is set, e.g. after a worker left webhook mode.
        await bot.delete_webhook(drop_pending_updates=False)
    except BaseException:
        await bot.session.close()  # start_polling would have closed it; it never ran
        raise
    if stop is None:
        await dispatcher.start_polling(bot, polling_timeout=polling_timeout)
        return
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=polling_timeout, handle_signals=False)
    )
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not polling.done():
            await dispatcher.stop_polling()
        await polling  # re-raises what ended polling early, if anything did


class AiogramSender:
    """The Bot API calls a reply needs, made with aiogram and its errors mapped to ours."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, part: Part) -> None:
        markup = _markup(part)
        thread = int(part.thread_id) if part.thread_id else None
        try:
            if part.photo is not None:
                photo = BufferedInputFile(part.photo, filename=photo_filename(part.photo))
                await self.bot.send_photo(
                    int(chat_id), photo, caption=part.text or None, reply_markup=markup,
                    message_thread_id=thread,
                )
            else:
                await self.bot.send_message(
                    int(chat_id), part.text, reply_markup=markup, message_thread_id=thread
                )
        except TelegramForbiddenError as exc:
            raise ChatUnreachable(exc.message) from exc
        except TelegramRetryAfter as exc:
            raise RetryLater(float(exc.retry_after)) from exc

    async def edit(self, chat_id: str, message_id: str, part: Part) -> EditResult:
        markup = _markup(part)
        try:
            await self.bot.edit_message_text(
                text=part.text,
                chat_id=int(chat_id),
                message_id=int(message_id),
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
            )
        except TelegramBadRequest as exc:
            return EditResult.UNCHANGED if is_not_modified(exc.message) else EditResult.FAILED
        except TelegramForbiddenError as exc:
            raise ChatUnreachable(exc.message) from exc
        except TelegramRetryAfter as exc:
            raise RetryLater(float(exc.retry_after)) from exc
        return EditResult.EDITED

    async def answer_callback(self, callback_id: str) -> None:
        await self.bot.answer_callback_query(callback_id)


def _markup(part: Part) -> Markup:
    if part.buttons:
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=button.text, callback_data=button.data)
                 for button in row]
                for row in part.buttons
            ]
        )
    if part.keyboard is Keyboard.REQUEST_CONTACT:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=contact_button_text(part), request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if part.keyboard is Keyboard.REMOVE:
        return ReplyKeyboardRemove()
    return None
