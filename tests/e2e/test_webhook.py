"""The webhook worker on both engines: pushes with the secret are handled, all others refused."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from bot.bootstrap import App, build_app
from bot.config import ConfigError, Settings
from bot.telegram.webhook import (
    SECRET_HEADER,
    build_webhook_app,
    check_webhook_settings,
    parse_listen,
)
from domain.shared.clock import FixedClock
from tests.e2e.conftest import MEI, ErrorLog, e2e_settings, seed_member
from tests.support.standin import BotApiStandIn

SECRET = "e2e-Secret_0123456789"


@dataclass
class Worker:
    app: App
    url: str


@pytest.fixture
async def worker(
    standin: BotApiStandIn, tmp_path: object, engine: str, e2e_clock: FixedClock
) -> AsyncIterator[Worker]:
    """A webhook worker of `engine` listening on 127.0.0.1, registered with the stand-in."""
    # Bind first, so WEBHOOK_URL can name the port before the app (and setWebhook) starts.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/telegram/webhook"
    settings = e2e_settings(standin, tmp_path, engine, webhook_url=url, webhook_secret=SECRET)
    app = await build_app(settings, clock=e2e_clock)
    await seed_member(app)
    runner = web.AppRunner(build_webhook_app(app), access_log=None, shutdown_timeout=1.0)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        yield Worker(app, url)
    finally:
        await runner.cleanup()
        sock.close()
        await app.close()


async def test_updates_pushed_with_the_secret_are_handled(
    worker: Worker, standin: BotApiStandIn
) -> None:
    (registered,) = standin.calls_to("setWebhook")
    assert registered.params["url"] == worker.url
    assert registered.params["secret_token"] == SECRET
    assert "zh" in {language for _scope, language in standin.commands}

    mei = standin.user(MEI, "Mei", language_code="en")
    standin.send_text(mei, "/start")  # the stand-in pushes it, as Telegram would
    welcome, ask = await standin.wait_for_messages(MEI, 2)
    assert ask.text == worker.app.translator("en", "link.ask_contact") and ask.requests_contact

    standin.share_contact(mei, "+8613800138000")
    linked, _menu = await standin.wait_for_messages(MEI, 2)
    assert "100001" in linked.text
    assert await standin.wait_for_webhook_deliveries(2) == [200, 200]


@pytest.mark.parametrize("secret", ["wrong-secret", None, SECRET + "x", SECRET[:-1]])
async def test_a_post_without_the_right_secret_is_refused_and_changes_nothing(
    worker: Worker, standin: BotApiStandIn, bot_errors: ErrorLog, secret: str | None
) -> None:
    mei = standin.user(MEI, "Mei", language_code="en")
    update = standin.make_update({"message": standin.new_message(mei, "/start")})

    status = await standin.post_update(worker.url, update, secret=secret)

    assert status == 403
    await standin.assert_quiet(MEI, settle=0.1)
    async with worker.app.uow_factory() as uow:
        assert await uow.chat_users.get("telegram", str(MEI)) is None  # never even identified


async def test_a_body_that_is_no_update_is_refused_without_crashing(
    worker: Worker, standin: BotApiStandIn
) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as client:
        for body in (b"not json", b"[1, 2]", b'{"update_id": "7"}'):
            async with client.post(worker.url, data=body,
                                   headers={SECRET_HEADER: SECRET}) as response:
                assert response.status == 400


def test_a_webhook_without_url_or_a_usable_secret_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_URL"):
        check_webhook_settings(Settings(webhook_secret=SECRET))
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET is not set"):
        check_webhook_settings(Settings(webhook_url="https://shop.example/telegram/webhook"))
    with pytest.raises(ConfigError, match="A-Z"):
        check_webhook_settings(
            Settings(webhook_url="https://shop.example/hook", webhook_secret="has space")
        )
    assert parse_listen("127.0.0.1:8443") == ("127.0.0.1", 8443)
    with pytest.raises(ConfigError, match="host:port"):
        parse_listen("8443")
