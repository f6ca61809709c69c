"""Statements run on the driver (storage.driver_statements), on SQLite and PostgreSQL: the rows
are SQLAlchemy's to the value, a write with no transaction open is committed on its own and one
inside a transaction is undone with it, errors come as SQLAlchemy's, and listeners see each
statement. A `/points` from a known member is three trips to the database, on either."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiosqlite
import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bot.bootstrap import App
from bot.telegram.updates import claimed_by_its_step
from domain.loyalty.model import EntryKind, LedgerEntry
from domain.members.model import ChatUser, Member
from handlers.types import InboundKind
from storage.loyalty.repository import _SUMMARY_ON_DRIVER
from storage.members.repository import _WHO_IS_TALKING
from storage.updates.tables import handled_updates
from tests.support.conversation import inbound
from tests.support.statements import counting, statements

USER = 8301


async def _member_with_points(app: App) -> int:
    now = app.clock.now()
    async with app.uow_factory() as uow:
        member = await uow.members.add(Member(
            "M008301", "Mei", "+8613800008301", now - timedelta(days=40),
            birthday=date(1990, 2, 28), spend_12m=Decimal("1234.56"), marketing_consent=True,
        ))
        assert member.id is not None
        await uow.ledger.append([
            LedgerEntry(member.id, EntryKind.EARN, 120, "drv:1", now - timedelta(days=3),
                        expires_at=now + timedelta(days=300)),
            LedgerEntry(member.id, EntryKind.EARN, 30, "drv:2", now - timedelta(days=1)),
        ])
        await uow.chat_users.save(ChatUser(
            "telegram", str(USER), str(USER), telegram_language="zh", member_id=member.id,
            state="joining", state_data={"name": "Mei", "step": 2},
        ))
        await uow.ledger.summary(member.id)  # made now, read from the table from now on
        await uow.commit()
        return member.id


async def _claims(app: App) -> int:
    async with app.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(handled_updates)) or 0)


async def test_rows_are_what_sqlalchemy_reads(any_app: App) -> None:
    member_id = await _member_with_points(any_app)
    who = {"channel": "telegram", "user_id": str(USER)}
    async with any_app.engine.connect() as conn:
        for statement, values in ((_WHO_IS_TALKING, who),
                                  (_SUMMARY_ON_DRIVER, {"member_id": member_id})):
            on_driver = await statement.first(conn, values)
            expected = (await conn.execute(statement.statement, values)).first()
            assert expected is not None and on_driver == tuple(expected)
            assert [type(v) for v in on_driver] == [type(v) for v in expected]
        assert await _WHO_IS_TALKING.first(conn, {**who, "user_id": "nobody"}) is None


async def test_the_repositories_read_the_same_member_and_balance(any_app: App) -> None:
    member_id = await _member_with_points(any_app)
    async with any_app.uow_factory() as uow:
        chat_user, member = await uow.chat_users.get_with_member("telegram", str(USER))
        assert chat_user == await uow.chat_users.get("telegram", str(USER))
        assert member == await uow.members.get(member_id)
        assert chat_user is not None and chat_user.state_data == {"name": "Mei", "step": 2}
        assert member is not None and member.birthday == date(1990, 2, 28)
        balance = await uow.ledger.summary(member_id)
        assert balance.balance == 150 and balance.lots[0].expires_at is not None
        assert balance.lots[0].expires_at.tzinfo is not None


async def test_a_write_with_no_transaction_open_is_committed_on_its_own(any_app: App) -> None:
    at = any_app.clock.now()
    async with any_app.uow_factory() as uow:
        assert await uow.handled_updates.claim("bot", 1, at)
        assert not await uow.handled_updates.claim("bot", 1, at)  # the same id: refused
        assert await _claims(any_app) == 1  # seen by another connection, before any commit
    assert await _claims(any_app) == 1  # leaving without a commit takes nothing back


async def test_a_write_inside_a_transaction_is_undone_with_it(any_app: App) -> None:
    at = any_app.clock.now()
    async with any_app.uow_factory() as uow:
        await uow.chat_users.add_or_get(ChatUser("telegram", "8302", "8302"))
        assert await uow.handled_updates.claim("bot", 2, at)
        await uow.rollback()
    assert await _claims(any_app) == 0
    async with any_app.uow_factory() as uow:
        await uow.chat_users.add_or_get(ChatUser("telegram", "8302", "8302"))
        assert await uow.handled_updates.claim("bot", 2, at)
        await uow.commit()
    assert await _claims(any_app) == 1


async def test_errors_are_sqlalchemys_and_a_naive_time_is_refused(any_app: App) -> None:
    async with any_app.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE chat_users RENAME TO chat_users_away"))
    async with any_app.uow_factory() as uow:
        with pytest.raises(DBAPIError):
            await uow.chat_users.get_with_member("telegram", str(USER))
    async with any_app.uow_factory() as uow:
        with pytest.raises(ValueError, match="naive"):
            await uow.handled_updates.claim("bot", 3, datetime(2026, 6, 15, 10, 0))
    assert await _claims(any_app) == 0


async def test_listeners_see_the_statements(any_app: App) -> None:
    await _member_with_points(any_app)
    with statements(any_app) as ran:
        async with any_app.uow_factory() as uow:
            await uow.chat_users.get_with_member("telegram", str(USER))
            await uow.handled_updates.claim("bot", 4, datetime.now(UTC))
    assert any("FROM chat_users" in sql for sql in ran)
    assert any("INSERT" in sql and "handled_updates" in sql for sql in ran)


async def _points(app: App, update_id: int) -> str:
    async with claimed_by_its_step(app, update_id):
        replies = await app.conversation.handle(
            inbound(InboundKind.COMMAND, command="points", user=USER, lang="zh")
        )
    return replies[0].key


def _probe(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, seen: list[str]) -> None:
    """Record each call of the driver's `owner.name` (a probe: the call itself still runs)."""

    def record(args: tuple[Any, ...]) -> None:
        seen.append(getattr(args[0], "__name__", name) if owner is aiosqlite.Connection else name)

    monkeypatch.setattr(owner, name, counting(getattr(owner, name), record))


async def test_points_is_three_trips_to_the_database(
    any_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Who is talking, the balance, the claim: on SQLite one call on its thread each, the claim's
    commit in the claim's call; on PostgreSQL one round trip each, no BEGIN and no COMMIT."""
    await _member_with_points(any_app)
    assert await _points(any_app, 11) == "points.summary"  # the pool's connection is set up
    trips: list[str] = []
    if any_app.engine.dialect.name == "sqlite":
        _probe(monkeypatch, aiosqlite.Connection, "_execute", trips)
        expected = ["_run", "_run", "_run_committed"]
    else:
        _probe(monkeypatch, asyncpg.prepared_stmt.PreparedStatement, "fetch", trips)
        for name in ("start", "commit", "rollback"):
            _probe(monkeypatch, asyncpg.transaction.Transaction, name, trips)
        expected = ["fetch", "fetch", "fetch"]
    assert await _points(any_app, 12) == "points.summary"
    assert trips == expected
    assert await _claims(any_app) == 2
