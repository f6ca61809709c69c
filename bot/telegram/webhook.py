"""The webhook server: one aiohttp app that receives Telegram updates for either engine.

Telegram POSTs each update to WEBHOOK_URL with our secret in a header; anything without the
right secret is refused with 403 before it is even parsed. The update is handled before the
answer goes back, so Telegram's `max_connections` limits how much work runs at once and a
worker that dies mid-update gets the update redelivered. A handler failure is logged and still
answered 200: the conversation has already apologised to the person, and a redelivery would
run the same step twice.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import signal
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from aiohttp import web

from bot.config import ConfigError, Settings
from bot.telegram.preflight import port_error
from domain.shared.text import parse_number

if TYPE_CHECKING:
    from bot.bootstrap import App

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "callback_query"]
# What Telegram accepts as secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class WebhookEngine(Protocol):
    """What the server needs from a framework: start, take one update, register, stop."""

    async def start(self) -> None: ...

    async def feed(self, update: dict[str, Any]) -> None: ...

    async def set_webhook(self, url: str, secret: str) -> None: ...

    async def stop(self) -> None: ...


class AiogramEngine:
    """Updates go through aiogram's Dispatcher, exactly as in polling."""

    def __init__(self, app: App) -> None:
        # Imported here so a worker loads only the framework it runs.
        from bot.telegram.aiogram import build

        self.bot, self.dispatcher = build(app)

    async def start(self) -> None:
        # Startup handlers register the command menu, as they do before polling.
        await self.dispatcher.emit_startup(bot=self.bot, dispatcher=self.dispatcher)

    async def feed(self, update: dict[str, Any]) -> None:
        await self.dispatcher.feed_raw_update(self.bot, update)

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def stop(self) -> None:
        try:
            await self.dispatcher.emit_shutdown(bot=self.bot, dispatcher=self.dispatcher)
        finally:
            await self.bot.session.close()


class PtbEngine:
    """Updates go straight to Application.process_update; no Updater is needed."""

    def __init__(self, app: App) -> None:
        from bot.telegram.ptb import build_application

        self.application = build_application(app, with_updater=False)

    async def start(self) -> None:
        from bot.telegram.ptb import start_application

        await start_application(self.application)

    async def feed(self, update: dict[str, Any]) -> None:
        from telegram import Update

        parsed = Update.de_json(update, self.application.bot)
        await self.application.process_update(parsed)

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.application.bot.set_webhook(
            url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
        )

    async def stop(self) -> None:
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()


def engine_for(app: App) -> WebhookEngine:
    """The engine BOT_ENGINE names."""
    if app.settings.bot_engine == "ptb":
        return PtbEngine(app)
    return AiogramEngine(app)


def check_webhook_settings(settings: Settings) -> tuple[str, str]:
    """(url, secret) when the settings allow a webhook; else a ConfigError that says why."""
    url, secret = settings.webhook_url, settings.webhook_secret
    if not url:
        raise ConfigError("WEBHOOK_URL is not set: the public HTTPS address Telegram posts to")
    if not secret:
        # Without a secret anyone who finds the URL could post fake updates (fake contacts!).
        raise ConfigError("WEBHOOK_SECRET is not set: a webhook without a secret is refused")
    if not _SECRET_PATTERN.fullmatch(secret):
        raise ConfigError(
            "WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - "
            "(Telegram refuses other characters)"
        )
    return url, secret


def webhook_path(settings: Settings) -> str:
    """The path of WEBHOOK_URL, which is where Telegram will post."""
    return urlparse(settings.webhook_url or "").path or DEFAULT_PATH


def build_webhook_app(app: App, engine: WebhookEngine | None = None) -> web.Application:
    """The aiohttp app: POST updates on the WEBHOOK_URL path, GET /healthz for probes.

    Starting it starts the engine and calls setWebhook; cleaning it up stops the engine.
    """
    url, secret = check_webhook_settings(app.settings)
    expected = secret.encode()
    engine = engine or engine_for(app)

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            logger.warning("refused a webhook request without the right secret from %s",
                           request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            update = await request.json()
        except (ValueError, RecursionError):
            # A body nested thousands deep exhausts the parser's recursion: malformed, like any
            # other body that is no JSON, never a 500.
            return web.Response(status=400, text="the body is not JSON")
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400, text="the body is not a Telegram update")
        try:
            await engine.feed(update)
        except Exception:
            logger.exception("handling webhook update %s failed", update["update_id"])
        return web.Response(status=200)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def on_startup(web_app: web.Application) -> None:
        await engine.start()
        await engine.set_webhook(url, secret)
        logger.info("webhook set; Telegram posts updates to %s", webhook_path(app.settings))

    async def on_cleanup(web_app: web.Application) -> None:
        await engine.stop()

    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_post(webhook_path(app.settings), receive)
    web_app.router.add_get("/healthz", health)
    web_app.on_startup.append(on_startup)
    web_app.on_cleanup.append(on_cleanup)
    return web_app


def parse_listen(listen: str) -> tuple[str, int]:
    """("127.0.0.1", 8080) from WEBHOOK_LISTEN="127.0.0.1:8080"."""
    host, sep, port = listen.rpartition(":")
    number = parse_number(port, maximum=65535) if sep else None
    if not number:  # "²".isdigit() is true, yet int("²") fails: the one number parser
        raise ConfigError(f"WEBHOOK_LISTEN must look like host:port, not {listen!r}")
    return host.strip("[]") or "127.0.0.1", number


async def run_webhook(app: App) -> None:
    """Serve the webhook on WEBHOOK_LISTEN until SIGINT/SIGTERM; `app` stays open."""
    host, port = parse_listen(app.settings.webhook_listen)
    runner = web.AppRunner(build_webhook_app(app), access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # not available on every platform
            loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:  # taken between the start-up check and now
            raise ConfigError(port_error(host, port, exc)) from None
        logger.info("listening for Telegram on %s:%d", host, port)
        await stop.wait()
    finally:
        await runner.cleanup()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
