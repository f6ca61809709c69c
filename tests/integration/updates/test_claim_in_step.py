"""An update's id is claimed in the first unit of work of the step that handles it.

Loading who is talking and the claim are one unit of work, committed once: a known person's
message reads and claims only (each statement its own transaction in the database,
storage.driver_statements), and the writes loading needs (a new person's account, a changed
language) share the claim's transaction. A redelivered update stops at the claim, its writes
undone; a step that failed before its commit still has its update remembered, so a redelivery
of it is not run again. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from bot.bootstrap import App
from bot.telegram.updates import claimed_by_its_step
from domain.members.model import ChatUser, Member
from domain.updates.model import UpdateAlreadyHandled
from handlers.types import InboundKind, OutgoingMessage
from storage.updates.tables import handled_updates
from tests.support.conversation import inbound

NEW_PERSON = 8101


async def _as_update(app: App, update_id: int, text_: str) -> list[OutgoingMessage] | None:
    """`text_` from NEW_PERSON handled as Telegram update `update_id`, the way the adapters do;
    None when it was skipped as a redelivery."""
    async with claimed_by_its_step(app, update_id):
        kind = InboundKind.COMMAND if text_.startswith("/") else InboundKind.TEXT
        message = inbound(kind, "" if kind is InboundKind.COMMAND else text_,
                          command=text_[1:] if kind is InboundKind.COMMAND else "",
                          user=NEW_PERSON)
        try:
            return await app.conversation.handle(message)
        except UpdateAlreadyHandled:
            return None


async def _claimed(app: App) -> list[int]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(select(handled_updates.c.update_id))
        return sorted(row[0] for row in rows)


async def _apology_then_skipped(app: App, table: str, update_id: int, text_: str) -> None:
    """While `table` is renamed away, `text_` as update `update_id` fails: the person gets the
    apology and the update's claim is remembered all the same. With the table back, a
    redelivery of that update is skipped, not retried, and the next update is answered."""
    async with app.engine.begin() as conn:
        await conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    replies = await _as_update(app, update_id, text_)
    assert replies is not None and [m.key for m in replies] == ["error.unexpected"]
    assert await _claimed(app) == [update_id]
    async with app.engine.begin() as conn:
        await conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
    assert await _as_update(app, update_id, text_) is None  # a redelivery is not run again
    answered = await _as_update(app, update_id + 1, text_)  # the next update is
    assert answered and answered[0].key != "error.unexpected"


class Statements:
    """Each statement with the transaction it ran in, and the commits, from now on."""

    def __init__(self, app: App) -> None:
        self.ran: list[tuple[str, Any]] = []
        self.commits = 0
        engine = app.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        self.ran.append((" ".join(sql.split()), conn.get_transaction()))

    def _commit(self, _conn: Any) -> None:
        self.commits += 1

    def transaction_of(self, fragment: str) -> Any:
        found = [tx for sql, tx in self.ran if fragment in sql]
        assert found, (fragment, [sql[:60] for sql, _tx in self.ran])
        return found[0]


async def test_the_claim_and_loading_who_is_talking_are_one_transaction(any_app: App) -> None:
    await _as_update(any_app, 101, "hello")  # a new person: their account is made
    await _as_update(any_app, 102, "/help")
    statements = Statements(any_app)
    replies = await _as_update(any_app, 103, "/help")  # an account and state that stay as they are
    assert replies
    claim = statements.transaction_of("INSERT INTO handled_updates")
    who = statements.transaction_of("FROM chat_users")
    assert claim is who
    assert statements.commits == 1, [sql[:60] for sql, _tx in statements.ran]
    assert await _claimed(any_app) == [101, 102, 103]


async def test_a_redelivery_undoes_the_writes_made_before_its_claim(any_app: App) -> None:
    """The person's language changed since: saved in the claim's transaction, and taken back
    with it when the claim finds the update handled already."""
    assert await _as_update(any_app, 251, "hello")
    async with claimed_by_its_step(any_app, 251):
        with pytest.raises(UpdateAlreadyHandled):
            await any_app.conversation.handle(
                inbound(InboundKind.TEXT, "hello", user=NEW_PERSON, lang="zh")
            )
    async with any_app.uow_factory() as uow:
        account = await uow.chat_users.get("telegram", str(NEW_PERSON))
    assert account is not None and account.telegram_language == "en"
    assert await _claimed(any_app) == [251]


async def test_a_redelivered_update_is_skipped_before_it_writes_anything(any_app: App) -> None:
    first = await _as_update(any_app, 201, "hello")
    assert first
    statements = Statements(any_app)
    assert await _as_update(any_app, 201, "hello") is None
    assert statements.commits == 0
    written = [sql for sql, _tx in statements.ran if not sql.startswith("SELECT")]
    assert written == [next(sql for sql in written if "handled_updates" in sql)]
    assert await _claimed(any_app) == [201]


async def test_a_step_that_failed_before_its_commit_is_remembered_and_not_run_again(
    any_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    # Loading who is talking fails: the step's transaction is rolled back before its claim,
    # and the claim is written alone.
    await _apology_then_skipped(any_app, "chat_users", 301, "hello")


async def test_a_step_that_crashed_after_its_claim_is_not_run_again(
    any_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """The claim was committed with loading who is talking; asking for points in words then
    failed (the summary table is gone): the person got the apology, and a redelivery is
    skipped, not retried. (/points itself reads the balance in the claim's transaction: there
    the failure comes before the claim, as in the test above.)"""
    caplog.set_level(logging.ERROR)
    await _linked_member(any_app)
    await _apology_then_skipped(any_app, "points_summaries", 501, "my points")


async def test_points_reads_the_balance_in_the_claims_transaction_and_needs_no_other(
    any_app: App,
) -> None:
    """/points' preload: who is talking, the claim and the balance in one transaction, one
    commit; the step itself opens none when nothing expired (bench_points.py measures it)."""
    await _linked_member(any_app)
    assert await _as_update(any_app, 601, "/points")  # the first read makes the summary
    statements = Statements(any_app)
    replies = await _as_update(any_app, 602, "/points")
    assert replies and replies[0].key == "points.summary"
    balance = statements.transaction_of("FROM points_summaries")
    assert balance is statements.transaction_of("INSERT INTO handled_updates")
    assert balance is statements.transaction_of("FROM chat_users")
    assert statements.commits == 1
    assert len({id(tx) for _sql, tx in statements.ran}) == 1, [s[:60] for s, _ in statements.ran]


async def _linked_member(app: App) -> None:
    async with app.uow_factory() as uow:
        member = await uow.members.add(Member("M000501", "Mei", "+8613800000501", app.clock.now()))
        await uow.chat_users.save(ChatUser(
            "telegram", str(NEW_PERSON), str(NEW_PERSON), telegram_language="en",
            member_id=member.id,
        ))
        await uow.commit()


async def test_a_claim_the_database_refuses_still_gets_the_person_an_answer(
    any_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """The claim failing (on SQLite: the file locked longer than the busy timeout) used to end
    the update before the conversation, without a word to the person: now they get the
    apology, and the failure is logged."""
    caplog.set_level(logging.ERROR)
    async with any_app.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE handled_updates RENAME TO handled_updates_away"))
    replies = await _as_update(any_app, 401, "hello")
    assert replies is not None and [m.key for m in replies] == ["error.unexpected"]
    assert any("could not remember update 401" in r.getMessage() for r in caplog.records)
    async with any_app.engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(
            text("handled_updates_away")))
    assert count == 0
