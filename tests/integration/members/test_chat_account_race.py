"""A new person's first two messages reaching two workers at once make one chat account."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select

from bot.bootstrap import build_app
from bot.config import Settings
from domain.shared.clock import FixedClock
from handlers.types import Inbound, InboundKind
from storage.members.tables import chat_users

NEW_PEOPLE = 20


def _first_message(user: int, text: str) -> Inbound:
    return Inbound("telegram", str(user), str(user), InboundKind.TEXT, payload=text,
                   language_code="en")


async def test_two_first_messages_at_once_create_one_chat_account_and_no_apology(
    database_url: str, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    # Two apps on one database stand for two webhook workers, each with its own pool.
    first = await build_app(Settings(database_url=database_url), clock=clock)
    second = await build_app(Settings(database_url=database_url), clock=clock, migrate=False)
    caplog.set_level(logging.ERROR)
    try:
        for user in range(7000, 7000 + NEW_PEOPLE):
            answers = await asyncio.wait_for(
                asyncio.gather(
                    first.conversation.handle(_first_message(user, "hello")),
                    second.conversation.handle(_first_message(user, "my points")),
                ),
                timeout=30,
            )
            keys = [m.key for replies in answers for m in replies]
            assert "error.unexpected" not in keys, (user, keys)
        async with first.engine.connect() as conn:
            accounts = (await conn.execute(
                select(chat_users.c.user_id, func.count()).group_by(chat_users.c.user_id)
            )).all()
    finally:
        await first.close()
        await second.close()
    assert len(accounts) == NEW_PEOPLE
    assert all(count == 1 for _user, count in accounts)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
