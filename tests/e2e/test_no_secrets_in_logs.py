"""The end-to-end stories on both frameworks with logging at DEBUG: no log line holds the bot
token, a member's phone or name, or anything a person wrote."""

from __future__ import annotations

import logging
import re

import pytest

from bot.bootstrap import App
from tests.e2e.conftest import MEI, MEMBER_NAME, MEMBER_PHONE
from tests.e2e.test_member_story import (
    test_a_member_links_checks_points_switches_language_and_stops_offers as member_story,
)
from tests.support.standin import TOKEN, BotApiStandIn

COMPLAINT = "The yoghurt smelled of fish at the Jingan store"
STRANGER_TEXT = "zebra-umbrella-quartz"  # free text nobody understands


class EveryRecord(logging.Handler):
    """Every record at every level, formatted as a log file would hold it (tracebacks too)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_log() -> EveryRecord:
    handler = EveryRecord()
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler  # type: ignore[misc]
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


async def test_stories_at_debug_level_log_no_token_phone_name_or_message_text(
    debug_log: EveryRecord, polling_bot: App, standin: BotApiStandIn
) -> None:
    await member_story(polling_bot, standin)
    mei = standin.user(MEI, "Mei", language_code="en")
    standin.send_text(mei, STRANGER_TEXT)
    await standin.wait_for_messages(MEI, 1)
    standin.send_text(mei, "/complaint")
    (ask,) = await standin.wait_for_messages(MEI, 1)
    standin.press(mei, ask, ask.inline_buttons[0]["callback_data"])
    (stores,) = await standin.wait_for_messages(MEI, 1)
    standin.press(mei, stores, stores.inline_buttons[0]["callback_data"])
    await standin.wait_for_messages(MEI, 1)
    standin.send_text(mei, COMPLAINT)
    await standin.wait_for_messages(MEI, 1)

    assert debug_log.lines, "logging at DEBUG recorded nothing: the capture is broken"
    national = MEMBER_PHONE.removeprefix("+86")
    secrets = {
        "the bot token": TOKEN,
        "the token's secret half": TOKEN.split(":", 1)[1],
        "the phone": national,
        "the member's name": MEMBER_NAME,
        "a complaint's text": COMPLAINT,
        "a message's text": STRANGER_TEXT,
    }
    for what, secret in secrets.items():
        leaks = [line for line in debug_log.lines if secret in line]
        assert leaks == [], f"{what} is in the log: {leaks[:3]}"
    # The Telegram display name is personal data too.
    assert not [line for line in debug_log.lines if re.search(r"\bMei\b", line)]
