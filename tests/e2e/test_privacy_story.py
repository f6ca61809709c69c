"""A member's privacy in Telegram, over HTTP, on aiogram and on python-telegram-bot alike:
consents, a copy of their data as two documents, and deleting the account with a change of
heart; and, with every logger at DEBUG, no log line holding a member's phone or name.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.bootstrap import App
from domain.members.model import Member
from tests.e2e.conftest import MEMBER_NAME, MEMBER_PHONE
from tests.e2e.test_member_story import (
    test_a_member_links_checks_points_switches_language_and_stops_offers as member_story,
)
from tests.support.standin import BotApiStandIn

HAN = 6001
HAN_PHONE = "+8613900139000"
HAN_NAME = "Han Meimei"
HAN_NO = "100002"


class Everything(logging.Handler):
    """Every record of every logger, formatted as the operator's log would show it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_log() -> Iterator[Everything]:
    """The root logger at DEBUG for the test, with every line kept."""
    handler = Everything()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # LOG_LEVEL=DEBUG: what an operator chasing a problem sets
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def _add_han(app: App) -> None:
    now = app.clock.now()
    async with app.uow_factory() as uow:
        await uow.members.add(Member(HAN_NO, HAN_NAME, HAN_PHONE, now - timedelta(days=90)))
        await uow.commit()


async def privacy_story(app: App, standin: BotApiStandIn) -> None:
    """Han links her account, turns surveys off, asks for her data, asks to delete her
    account and changes her mind."""
    t = app.translator
    await _add_han(app)
    han = standin.user(HAN, "Han", language_code="en")
    standin.share_contact(han, HAN_PHONE.lstrip("+"))
    await standin.wait_for_messages(HAN, 2)

    standin.send_text(han, "/privacy")
    (page,) = await standin.wait_for_messages(HAN, 1)
    assert t("en", "privacy.purpose.surveys") in page.text
    off = standin.button_data(page, "Turn off: " + t("en", "privacy.purpose.surveys"))
    standin.press(han, page, off)
    (edited,) = await standin.wait_for_messages(HAN, 1)
    assert edited.kind == "edit" and edited.message_id == page.message_id
    standin.button_data(edited, "Turn on: " + t("en", "privacy.purpose.surveys"))

    standin.press(han, edited, standin.button_data(edited, "Send me my data"))
    json_file, summary = await standin.wait_for_messages(HAN, 2)
    assert json_file.method == summary.method == "senddocument"
    assert json_file.text == t("en", "privacy.export_json")
    assert json_file.document is not None and summary.document is not None
    copy = json.loads(json_file.document)
    assert copy["tables"]["members"][0]["phone"] == HAN_PHONE
    assert [row["purpose"] for row in copy["tables"]["consent_log"]] == ["surveys"]
    assert HAN_NAME in summary.document.decode("utf-8")

    standin.press(han, edited, standin.button_data(edited, "Delete my account"))
    (warning,) = await standin.wait_for_messages(HAN, 1)
    assert "cannot be undone" in warning.text
    standin.press(han, warning, standin.button_data(warning, "Yes, delete"))
    (requested,) = await standin.wait_for_messages(HAN, 1)
    assert "2026-06-22" in requested.text

    standin.send_text(han, "/privacy")
    (page,) = await standin.wait_for_messages(HAN, 1)
    standin.press(han, page, standin.button_data(page, "Cancel the deletion"))
    cancelled, _menu = await standin.wait_for_messages(HAN, 2)
    assert cancelled.text == t("en", "privacy.delete_cancelled")


async def test_a_member_manages_consents_gets_their_data_and_keeps_their_account(
    polling_bot: App, standin: BotApiStandIn
) -> None:
    await privacy_story(polling_bot, standin)


async def test_no_log_line_holds_a_members_phone_or_name(
    polling_bot: App, standin: BotApiStandIn, debug_log: Everything
) -> None:
    await member_story(polling_bot, standin)
    await privacy_story(polling_bot, standin)
    # The capture saw the bot at work: our own lines name members by number and id.
    assert any("linked to member 100002" in line for line in debug_log.lines)
    needles = [
        MEMBER_PHONE, MEMBER_PHONE.lstrip("+"), MEMBER_PHONE[-11:], MEMBER_NAME,
        HAN_PHONE, HAN_PHONE.lstrip("+"), HAN_PHONE[-11:], HAN_NAME,
    ]
    leaks = [line for line in debug_log.lines if any(n in line for n in needles)]
    assert leaks == [], "\n".join(leak[:300] for leak in leaks[:10])
