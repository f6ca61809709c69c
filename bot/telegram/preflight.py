"""Checks made before `retailbot run` touches the database: the token works, the port is free.

Each failure is one line that says what to fix (never the token itself), instead of a
framework's traceback after migrations have already run.
"""

from __future__ import annotations

import errno
import socket

import aiohttp

from bot.config import ConfigError, Settings
from bot.logs import scrub

TIMEOUT = 15.0  # seconds for getMe: a Bot API that does not answer by then is unreachable


async def check_bot_api(settings: Settings) -> str:
    """The bot's @name from getMe; ConfigError when the Bot API is unreachable or refuses the
    token."""
    api = settings.telegram_api_url.rstrip("/")
    url = f"{api}/bot{settings.bot_token}/getMe"
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as client, client.get(url) as response:
            status = response.status
            body = await response.json(content_type=None) if status < 500 else {}
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        reason = scrub(str(exc).replace(settings.bot_token or "\0", "<BOT_TOKEN>"))
        raise ConfigError(
            f"cannot reach the Bot API at {api} ({type(exc).__name__}: {reason or 'no answer'});"
            " check the network, a proxy, or TELEGRAM_API_URL"
        ) from None
    if status in (401, 404):
        raise ConfigError(
            "the Bot API refused BOT_TOKEN (unauthorized): the bot was deleted or the token "
            "revoked; get the current one from @BotFather"
        )
    if status != 200 or not isinstance(body, dict) or not body.get("ok"):
        raise ConfigError(f"the Bot API at {api} answered getMe with HTTP {status}; try later")
    result = body.get("result") or {}
    return str(result.get("username") or "")


def check_port_free(host: str, port: int) -> None:
    """ConfigError when another process already listens on host:port (WEBHOOK_LISTEN)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the server will: a port left in TIME_WAIT by our own last run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(port_error(host, port, exc)) from None


def port_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"WEBHOOK_LISTEN {host}:{port} is already in use: another retailbot or server "
            "listens there; stop it or choose another port"
        )
    if exc.errno == errno.EACCES:
        return f"WEBHOOK_LISTEN {host}:{port}: no permission (ports below 1024 need root)"
    return f"WEBHOOK_LISTEN {host}:{port} cannot be used: {exc.strerror or exc}"
