"""A second polling process on the same bot waits quietly as a standby and takes over when the
first stops; it never fills the log with Telegram's 409 Conflict."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.bootstrap import App, build_app
from bot.telegram import aiogram as telegram_aiogram
from bot.telegram import ptb as telegram_ptb
from bot.telegram.standby import ConflictFilter
from domain.shared.clock import FixedClock
from tests.e2e.conftest import MEI, STOP_TIMEOUT, ErrorLog, e2e_settings
from tests.support.standin import BotApiStandIn


def _polling(app: App, engine: str, stop: asyncio.Event) -> asyncio.Task[None]:
    if engine == "aiogram":
        return asyncio.create_task(telegram_aiogram.run_polling(app, stop=stop, polling_timeout=1))
    return asyncio.create_task(telegram_ptb.run_polling(app, stop=stop, poll_timeout=1))


async def test_a_second_poller_waits_as_a_standby_then_takes_over(
    shop: App, standin: BotApiStandIn, engine: str, tmp_path: object, e2e_clock: FixedClock,
    bot_errors: ErrorLog, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.telegram.standby.RETRY_SECONDS", 0.2)
    caplog.set_level(logging.WARNING, logger="bot.telegram.standby")
    second = await build_app(e2e_settings(standin, tmp_path, engine), clock=e2e_clock,
                             migrate=False)
    first_stop, second_stop = asyncio.Event(), asyncio.Event()
    first = _polling(shop, engine, first_stop)
    standby: asyncio.Task[None] | None = None
    try:
        await standin.wait_for_call("getUpdates", timeout=10)
        standby = _polling(second, engine, second_stop)
        for _ in range(50):  # bounded: up to 5 s for the standby to say it waits
            if any("standby" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.1)
        assert [r.getMessage() for r in caplog.records if "standby" in r.getMessage()]

        first_stop.set()
        await asyncio.wait_for(first, STOP_TIMEOUT)
        for _ in range(100):  # bounded: up to 10 s to take over
            if any("polls the bot now" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.1)
        mei = standin.user(MEI, "Mei", language_code="en")
        standin.send_text(mei, "/start")
        assert len(await standin.wait_for_messages(MEI, 2)) == 2  # the standby answers now
    finally:
        first_stop.set()
        second_stop.set()
        if not first.done():
            await asyncio.wait_for(first, STOP_TIMEOUT)
        if standby is not None:
            await asyncio.wait_for(standby, STOP_TIMEOUT)
        await second.close()
    assert not bot_errors.unexpected()


def test_a_poller_elsewhere_is_one_warning_not_an_error_every_few_seconds() -> None:
    quiet = ConflictFilter()
    records = [
        logging.LogRecord("aiogram.dispatcher", logging.ERROR, __file__, 1,
                          "Failed to fetch updates - %s: %s",
                          ("TelegramConflictError", "Conflict: terminated by other getUpdates"),
                          None)
        for _ in range(30)
    ]
    kept = [record for record in records if quiet.filter(record)]
    assert len(kept) == 1 and kept[0].levelno == logging.WARNING
    other = logging.LogRecord("aiogram.dispatcher", logging.ERROR, __file__, 1, "boom", None, None)
    assert quiet.filter(other) and other.levelno == logging.ERROR
