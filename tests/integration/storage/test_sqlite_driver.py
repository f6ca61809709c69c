"""The SQLite engine's cursor (storage.sqlite_driver): each statement is one trip to aiosqlite's
thread, a transaction that only read ends without one, and what SQLAlchemy sees is unchanged —
rows, counts, new ids, errors, rollbacks and streamed results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine

metadata = MetaData()
things = Table(
    "things", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False, unique=True),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(f"sqlite+aiosqlite:///{tmp_path}/driver.db")
    async with made.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield made
    await made.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls queued to aiosqlite's thread, by function name (a probe, nothing replaced)."""
    seen: list[str] = []
    queue_call = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", type(fn).__name__))
        return await queue_call(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_a_select_is_one_trip_and_a_read_only_transaction_ends_without_one(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.connect() as conn:  # a pooled connection, its set-up done
        await conn.execute(insert(things).values(name="kept"))
        await conn.commit()
    trips.clear()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(things.c.name))).all()
        await conn.commit()
    assert [tuple(row) for row in rows] == [("kept",)]
    assert trips == ["_run"]  # no cursor to open or close, no commit: nothing was written


async def test_a_write_is_one_trip_and_its_commit_another(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.connect() as conn:
        result = await conn.execute(insert(things).values(name="new"))
        assert result.inserted_primary_key[0] == 1  # lastrowid, noted on the thread
        await conn.commit()
    assert trips.count("_run") == 1
    assert "commit" in trips


async def test_counts_rollbacks_and_errors_are_what_sqlalchemy_expects(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        await conn.execute(insert(things), [{"name": "a"}, {"name": "b"}, {"name": "c"}])
        changed = await conn.execute(text("UPDATE things SET name = name || '!'"))
        assert changed.rowcount == 3
        await conn.rollback()  # a write was made: the rollback must reach SQLite
        assert (await conn.execute(select(things))).all() == []
        await conn.execute(insert(things).values(name="a"))
        with pytest.raises(IntegrityError):
            await conn.execute(insert(things).values(name="a"))
        await conn.rollback()
    async with engine.connect() as conn:
        assert (await conn.execute(select(things))).all() == []  # nothing committed


async def test_a_first_write_that_fails_half_way_is_rolled_back(engine: AsyncEngine) -> None:
    """The failing statement opened the transaction itself (nothing was written before it in
    this transaction) and left its first rows in it: the rollback must still reach SQLite, or
    the pooled connection's next user would commit them."""
    async with engine.connect() as conn:
        await conn.execute(insert(things).values(name="taken"))
        await conn.commit()
    for _ in range(2):  # the same pooled connection, used again after the failure
        async with engine.connect() as conn:
            with pytest.raises(IntegrityError):
                await conn.execute(insert(things), [{"name": "fresh"}, {"name": "taken"}])
            await conn.rollback()
        async with engine.connect() as conn:
            await conn.execute(insert(things).values(name="later"))
            await conn.commit()
            names = (await conn.execute(select(things.c.name).order_by(things.c.id))).scalars()
            assert list(names) == ["taken", "later"]
            await conn.execute(text("DELETE FROM things WHERE name = 'later'"))
            await conn.commit()


async def test_streamed_results_keep_their_own_cursor(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(insert(things), [{"name": f"n{i}"} for i in range(50)])
        await conn.commit()
        streamed = await conn.stream(select(things.c.name).order_by(things.c.id))
        names = [row.name async for row in streamed]
        await conn.commit()
    assert names == [f"n{i}" for i in range(50)]
