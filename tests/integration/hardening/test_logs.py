"""No log line carries a secret or personal data: the token is scrubbed wherever a library
prints it, and a database error is logged without the statement's parameters."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from bot.bootstrap import App, build_app
from bot.config import Settings
from bot.logs import REDACTED
from domain.members.model import Member
from domain.shared.clock import FixedClock
from storage.uow import DatabaseRefused

TOKEN = "5550123:AAE-log-redaction-test-token-xyz"
# Named once here: a traceback quotes the lines that raised, and they must not hold the values.
PHONE = "+8613800138000"
FIRST_NAME, SECOND_NAME = "Han Meimei", "Zhao Xiaoyu"


async def test_the_bot_token_never_reaches_a_log_line_whoever_logs_it(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    app = await build_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db",
                                   bot_token=TOKEN))
    await app.close()
    caplog.set_level(logging.DEBUG)
    url = f"https://api.telegram.example/bot{TOKEN}/getUpdates"
    logging.getLogger("some.library").warning("HTTP Request: POST %s %s", url, "200 OK")
    try:
        raise ConnectionError(f"cannot connect to {url}")
    except ConnectionError:
        logging.getLogger("some.library").exception("request failed")
    logging.getLogger("httpx").info("HTTP Request: POST %s", url)  # held back entirely
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert REDACTED in text
    assert not [r for r in caplog.records if r.name == "httpx"]


async def test_a_database_error_is_logged_without_the_members_phone_or_name(
    database_url: str, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    app: App = await build_app(Settings(database_url=database_url), clock=clock)
    joined = datetime(2025, 1, 1, tzinfo=UTC)
    try:
        async with app.uow_factory() as uow:
            await uow.members.add(Member("100001", FIRST_NAME, PHONE, joined))
            await uow.commit()
        with pytest.raises(DatabaseRefused) as refused:
            async with app.uow_factory() as uow:  # the same phone again: a unique constraint
                await uow.members.add(Member("100002", SECOND_NAME, PHONE, joined))
        logging.getLogger("retailbot.test").error("import failed", exc_info=refused.value)
    finally:
        await app.close()
    logged = caplog.text
    assert "import failed" in logged
    for personal in (PHONE[3:], SECOND_NAME):
        assert personal not in logged and personal not in str(refused.value)
