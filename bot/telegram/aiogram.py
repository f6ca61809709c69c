"""Telegram on aiogram: the dispatcher, long polling, and aiogram's types for the Bot API calls.

The calls themselves are written once for both frameworks in bot.telegram.messenger; here is
what only aiogram has: its classes, and `send_error`, the one place aiogram's exceptions become
the domain's SendErrors, for replies and outbox alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiogram.types
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
from aiogram.methods import (
    AnswerCallbackQuery,
    CreateForumTopic,
    DeleteWebhook,
    EditMessageText,
    GetMe,
    GetUpdates,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    SetWebhook,
)
from aiogram.methods.base import Response
from aiogram.types import BufferedInputFile, CallbackQuery, Message

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

logger = logging.getLogger(__name__)

# aiogram reads each Bot API answer with pydantic's `Response[<what the method returns>]`, a class
# pydantic builds on first use and keeps in a cache of weak references only: a garbage
# collection of the running bot can drop it, and the next answer builds it again, schema and
# all (tens of milliseconds for `Response[Message]`, whose schema is every Telegram type). In a
# busy bot that happened every few dozen updates and was about a seventh of its processor time
# (bench/README.md). Holding the classes of the calls retailbot makes keeps one of each.
_ANSWER_CLASSES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        AnswerCallbackQuery, CreateForumTopic, DeleteWebhook, EditMessageText, GetMe, GetUpdates,
        SendDocument, SendMessage, SendPhoto, SetMyCommands, SetWebhook,
    )
)


def send_error(exc: Exception) -> SendError:
    """What aiogram raised, as the domain's SendError: the one mapping for every Bot API call."""
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


class AiogramApi(BotApi):
    """The Bot API calls with aiogram's types; raises only domain SendErrors."""

    bot: Bot
    types = aiogram.types

    def input_file(self, data: bytes, filename: str) -> BufferedInputFile:
        return BufferedInputFile(data, filename=filename)

    def send_error(self, exc: Exception) -> SendError:
        return send_error(exc)


class AiogramSender(AiogramApi, BotApiSender):
    """The Bot API calls a reply needs, made with aiogram."""


class AiogramMessenger(AiogramApi, BotApiMessenger):
    """Sends outbox messages with an aiogram Bot."""

    @classmethod
    def from_settings(cls, settings: Settings) -> AiogramMessenger:
        return cls(build_bot(settings))

    async def start(self) -> None:
        return None  # aiogram opens its HTTP session on the first call

    async def close(self) -> None:
        await self.bot.session.close()


def build_bot(settings: Settings) -> Bot:
    """A Bot talking to the configured Bot API server (Telegram's or a self-hosted one)."""
    token = require_token(settings.bot_token)
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(token=token, session=session)


def build_dispatcher(app: App) -> Dispatcher:
    """A Dispatcher whose one router hands every message and button press to the conversation."""
    router = Router(name="retailbot")
    conversation = app.conversation
    turns = ChatTurns(conversation, getattr(app, "translator", None))

    @router.message()
    async def on_message(message: Message, bot: Bot) -> None:
        """Any message: text, command, contact, photo, sticker..."""
        me = await bot.me()  # cached by aiogram after the first call
        inbound = inbound_from_message(message, me.username)
        if inbound is None:
            return
        await turns.take(inbound, AiogramSender(bot))

    @router.callback_query()
    async def on_button(query: CallbackQuery, bot: Bot) -> None:
        """A pressed inline button."""
        inbound = inbound_from_callback(query)
        if inbound is None:
            await query.answer()  # nothing to do, but the client waits for an answer
            return
        await turns.take(inbound, AiogramSender(bot))

    async def on_startup(bot: Bot) -> None:
        remember_bot_username(conversation, (await bot.me()).username)
        await AiogramApi(bot).register_commands(conversation)

    async def once_per_update(
        handler: Callable[[Any, dict[str, Any]], Awaitable[Any]],
        update: Any,
        data: dict[str, Any],
    ) -> Any:
        """A redelivered update (same update_id) is skipped: see bot.telegram.updates."""
        async with claimed_by_its_step(app, update.update_id):
            return await handler(update, data)

    dispatcher = Dispatcher(name="retailbot")
    dispatcher.update.outer_middleware(once_per_update)
    dispatcher.include_router(router)
    dispatcher.startup.register(on_startup)
    return dispatcher


def build(app: App) -> tuple[Bot, Dispatcher]:
    """The Bot and Dispatcher for `app`, ready for polling or a webhook."""
    return build_bot(app.settings), build_dispatcher(app)


async def run_polling(
    app: App, *, stop: asyncio.Event | None = None, polling_timeout: int = 10
) -> None:
    """Serve Telegram by long polling; `app` stays open for the caller.

    Without `stop` it runs until SIGINT/SIGTERM; with one it runs until the event is set
    (an embedding process or a test decides when to stop, and owns the signals).
    """
    quiet_conflicts("aiogram.dispatcher")
    lock = await wait_to_poll(app, stop)  # a second process waits here, quietly
    if lock is None:
        return
    try:
        await _poll(app, stop, polling_timeout)
    finally:
        await lock.release()


async def _poll(app: App, stop: asyncio.Event | None, polling_timeout: int) -> None:
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
