"""When the database refuses an update's claim, the person still gets an answer.

Seen in a 100,000-update run of `retailbot run` on SQLite: the scheduler's job store (a
synchronous connection, on the event loop) waited for the bot's write lock while the lock's
holder waited for the event loop; claims queued behind them gave up after the busy timeout.
The claim was then made before the conversation, outside its error handling, so those updates
ended without a word (9 of 100,000). The claim is now part of the conversation's step: a
refused claim is a failed step, answered with the apology and logged.
"""

from __future__ import annotations

from sqlalchemy import text

from bot.bootstrap import App
from tests.e2e.conftest import ErrorLog
from tests.support.standin import BotApiStandIn

MEI = 5301


async def test_a_refused_claim_is_answered_with_the_apology(
    polling_bot: App, standin: BotApiStandIn, bot_errors: ErrorLog
) -> None:
    bot_errors.expect("could not load who is talking")
    bot_errors.expect("could not remember update")
    async with polling_bot.engine.begin() as conn:  # every claim now fails
        await conn.execute(text("ALTER TABLE handled_updates RENAME TO handled_updates_away"))
    mei = standin.user(MEI, "Mei", language_code="en")
    standin.send_text(mei, "/points")
    (answer,) = await standin.wait_for_messages(MEI, 1)
    assert "Sorry" in answer.text
    await standin.assert_quiet(MEI, settle=0.3)
    assert bot_errors.matching("could not remember update")
    assert not bot_errors.unexpected()
