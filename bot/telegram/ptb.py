"""Telegram on python-telegram-bot (PTB): its Application, polling and Bot API types.

As bot.telegram.aiogram does for aiogram: `send_error` maps PTB's exceptions to the domain's
SendErrors for every call; `PtbApi` gives bot.telegram.messenger PTB's classes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
import warnings
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import telegram
from telegram import Bot, InputFile, Update
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

from bot.config import Settings, require_token
from bot.telegram.inbound import inbound_from_callback, inbound_from_message, remember_bot_username
from bot.telegram.messenger import BotApi, BotApiMessenger, BotApiSender, rejected_or_gone
from bot.telegram.replies import ChatTurns
from bot.telegram.standby import quiet_conflicts, wait_to_poll
from bot.telegram.updates import claimed_by_its_step
from domain.messaging.ports import (
    ChatUnreachable,
    MessageRejected,
    RateLimited,
    SendError,
    TransientSendError,
)

if TYPE_CHECKING:
    from bot.bootstrap import App

POOL_SIZE = 32  # enough connections for the sender's concurrent calls

logger = logging.getLogger(__name__)


def send_error(exc: Exception) -> SendError:
    """What PTB raised, as the domain's SendError: the one mapping for every Bot API call."""
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


def _api_urls(settings: Settings) -> tuple[str, str]:
    """PTB's base URLs of the Bot API and of its files (Telegram's server or a self-hosted one)."""
    api = settings.telegram_api_url.rstrip("/")
    return f"{api}/bot", f"{api}/file/bot"


class PtbApi(BotApi):
    """The Bot API calls with PTB's types; raises only domain SendErrors."""

    bot: Bot
    types = telegram

    def input_file(self, data: bytes, filename: str) -> InputFile:
        return InputFile(data, filename=filename)

    def send_error(self, exc: Exception) -> SendError:
        return send_error(exc)


class PtbSender(PtbApi, BotApiSender):
    """The Bot API calls a reply needs, made with PTB."""


class PtbMessenger(PtbApi, BotApiMessenger):
    """Sends outbox messages with a PTB Bot."""

    @classmethod
    def from_settings(cls, settings: Settings) -> PtbMessenger:
        base_url, base_file_url = _api_urls(settings)
        request = HTTPXRequest(connection_pool_size=POOL_SIZE, pool_timeout=10.0)
        bot = Bot(
            require_token(settings.bot_token),
            base_url=base_url,
            base_file_url=base_file_url,
            request=request,
        )
        return cls(bot)

    async def start(self) -> None:
        await self.bot.initialize()

    async def close(self) -> None:
        await self.bot.shutdown()


PtbApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(app: App, *, with_updater: bool = True) -> PtbApplication:
    """A PTB Application wired to the conversation; without an updater for webhook workers."""
    settings = app.settings
    base_url, base_file_url = _api_urls(settings)
    builder = (
        ApplicationBuilder()
        .token(require_token(settings.bot_token))
        .base_url(base_url)
        .base_file_url(base_file_url)
        .post_init(_post_init(app))
        # PTB would start its own APScheduler when it is installed; scheduler/ owns the jobs.
        .job_queue(None)
    )
    if not with_updater:
        builder = builder.updater(None)
    application: PtbApplication = builder.build()

    turns = ChatTurns(app.conversation, getattr(app, "translator", None))

    # A redelivered update (same update_id) is skipped: the step claims the id as it starts,
    # see bot.telegram.updates. Updates no handler takes do nothing, so they claim nothing.
    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any new message: text, command, contact, photo, sticker..."""
        async with claimed_by_its_step(app, update.update_id):
            if update.message is None:
                return
            inbound = inbound_from_message(update.message, context.bot.username)
            if inbound is None:
                return
            await turns.take(inbound, PtbSender(context.bot))

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button."""
        async with claimed_by_its_step(app, update.update_id):
            query = update.callback_query
            if query is None:
                return
            inbound = inbound_from_callback(query)
            if inbound is None:
                await query.answer()  # nothing to do, but the client waits for an answer
                return
            await turns.take(inbound, PtbSender(context.bot))

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
        await PtbApi(application.bot).register_commands(app.conversation)

    return register


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything a handler let through: logged with its traceback, never swallowed."""
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("handling update %s failed", update_id, exc_info=context.error)


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
    quiet_conflicts("telegram.ext.Updater", "telegram.ext")
    loop = asyncio.get_running_loop()
    own_signals = stop is None
    stop = stop or asyncio.Event()
    if own_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError):  # not available on every platform
                loop.add_signal_handler(sig, stop.set)
    lock = None
    application = None
    try:
        lock = await wait_to_poll(app, stop)  # a second process waits here, quietly
        if lock is None:
            return
        application = build_application(app)
        await start_polling(application, poll_timeout=poll_timeout)
        await stop.wait()
    finally:
        if application is not None:
            await stop_polling(application)
        if lock is not None:
            await lock.release()
        if own_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with suppress(NotImplementedError):
                    loop.remove_signal_handler(sig)
