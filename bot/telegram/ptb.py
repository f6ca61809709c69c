"""The outbox's Messenger on python-telegram-bot: PTB's errors mapped to the domain's."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
import warnings
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram import Bot as PtbBot
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

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

logger = logging.getLogger(__name__)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
PtbApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(app: App, *, with_updater: bool = True) -> PtbApplication:
    """A PTB Application wired to the conversation; without an updater for webhook workers."""
    settings = app.settings
    if not settings.bot_token:
        raise ConfigError("BOT_TOKEN is not set: create a bot with @BotFather and set its token")
    api = settings.telegram_api_url.rstrip("/")
    builder = (
        ApplicationBuilder()
        .token(settings.bot_token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .post_init(_post_init(app))
        # PTB would start its own APScheduler when it is installed; scheduler/ owns the jobs.
        .job_queue(None)
    )
    if not with_updater:
        builder = builder.updater(None)
    application: PtbApplication = builder.build()

    locks = ChatLocks()
    conversation = app.conversation
    translator = getattr(app, "translator", None)

    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any new message: text, command, contact, photo, sticker..."""
        if update.message is None:
            return
        inbound = inbound_from_message(update.message, context.bot.username)
        if inbound is None:
            return
        async with locks.hold(inbound.chat_id):
            await process(conversation, inbound, PtbSender(context.bot), translator)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button."""
        query = update.callback_query
        if query is None:
            return
        inbound = inbound_from_callback(query)
        if inbound is None:
            await query.answer()  # nothing to do, but the client waits for an answer
            return
        async with locks.hold(inbound.chat_id):
            await process(conversation, inbound, PtbSender(context.bot), translator)

    # Only new messages: an edited old message is no new request, and "/points" edited into
    # "/stop" must not withdraw consent behind the person's back.
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, on_message))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(_log_error)
    return application


def _post_init(app: App) -> Any:
    async def register(application: PtbApplication) -> None:
        # initialize() has asked Telegram who the bot is.
        remember_bot_username(app.conversation, application.bot.username)
        await register_commands(application.bot, app.conversation)

    return register


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything a handler let through: logged with its traceback, never swallowed."""
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("handling update %s failed", update_id, exc_info=context.error)


async def register_commands(bot: PtbBot, conversation: Any) -> None:
    """The command menu in Chinese, in English, and English for every other language."""
    try:
        for language_code in ("zh", "en", None):
            commands = [
                BotCommand(name, description)
                for name, description in conversation.bot_commands(language_code or "en")
            ]
            await bot.set_my_commands(commands, language_code=language_code)
    except Exception:
        # The bot still works without a command menu; the log says why it is missing.
        logger.exception("registering the command menu with Telegram failed")


async def start_polling(application: PtbApplication, *, poll_timeout: float = 10) -> None:
    """initialize → start → updater.start_polling; pair with `stop_polling`."""
    assert application.updater is not None, "polling needs an Application with an updater"
    await start_application(application)
    # start_polling deletes a webhook first, so a worker can switch from webhook to polling.
    await application.updater.start_polling(
        timeout=dt.timedelta(seconds=poll_timeout),
        allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
    )


async def start_application(application: PtbApplication) -> None:
    """initialize → post_init → start, as PTB's own run_polling/run_webhook would do."""
    await application.initialize()
    # post_init is only run by PTB's run_* helpers, which we cannot use (see run_polling).
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()


async def stop_polling(application: PtbApplication) -> None:
    """The reverse of `start_polling`, safe to call when start failed half way."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


async def run_polling(
    app: App, *, stop: asyncio.Event | None = None, poll_timeout: float = 10
) -> None:
    """Serve Telegram by long polling; `app` stays open for the caller.

    Without `stop` it runs until SIGINT/SIGTERM; with one it runs until the event is set.
    PTB's own `Application.run_polling` owns the event loop, but ours is already running (the
    scheduler shares it), so the life cycle is driven by hand.
    """
    application = build_application(app)
    loop = asyncio.get_running_loop()
    own_signals = stop is None
    stop = stop or asyncio.Event()
    if own_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError):  # not available on every platform
                loop.add_signal_handler(sig, stop.set)
    try:
        await start_polling(application, poll_timeout=poll_timeout)
        await stop.wait()
    finally:
        await stop_polling(application)
        if own_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with suppress(NotImplementedError):
                    loop.remove_signal_handler(sig)


class PtbSender:
    """The Bot API calls a reply needs, made with PTB and its errors mapped to ours."""

    def __init__(self, bot: PtbBot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, part: Part) -> None:
        markup = _markup(part)
        thread = int(part.thread_id) if part.thread_id else None
        try:
            if part.photo is not None:
                photo = InputFile(part.photo, filename=photo_filename(part.photo))
                await self.bot.send_photo(
                    int(chat_id), photo, caption=part.text or None, reply_markup=markup,
                    message_thread_id=thread,
                )
            else:
                await self.bot.send_message(
                    int(chat_id), part.text, reply_markup=markup, message_thread_id=thread
                )
        except Forbidden as exc:
            raise ChatUnreachable(exc.message) from exc
        except RetryAfter as exc:
            raise RetryLater(retry_after_seconds(exc)) from exc

    async def edit(self, chat_id: str, message_id: str, part: Part) -> EditResult:
        markup = _markup(part)
        try:
            await self.bot.edit_message_text(
                part.text,
                chat_id=int(chat_id),
                message_id=int(message_id),
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
            )
        except BadRequest as exc:
            return EditResult.UNCHANGED if is_not_modified(exc.message) else EditResult.FAILED
        except Forbidden as exc:
            raise ChatUnreachable(exc.message) from exc
        except RetryAfter as exc:
            raise RetryLater(retry_after_seconds(exc)) from exc
        return EditResult.EDITED

    async def answer_callback(self, callback_id: str) -> None:
        await self.bot.answer_callback_query(callback_id)


def _markup(part: Part) -> Markup:
    if part.buttons:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(button.text, callback_data=button.data) for button in row]
             for row in part.buttons]
        )
    if part.keyboard is Keyboard.REQUEST_CONTACT:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(contact_button_text(part), request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if part.keyboard is Keyboard.REMOVE:
        return ReplyKeyboardRemove()
    return None
