"""Shared fixtures: a real SQLite file per test, a fresh PostgreSQL database when configured."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.bootstrap import App
from bot.config import Settings
from domain.shared.clock import FixedClock
from tests.support.apps import running_app

PG_ENV = "TEST_DATABASE_URL"


def _pg_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture
def clock() -> FixedClock:
    """2026-06-15 10:00 UTC unless a test moves it."""
    return FixedClock(datetime(2026, 6, 15, 10, 0, tzinfo=UTC))


@pytest.fixture
def sqlite_url(tmp_path: pytest.TempPathFactory) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/retailbot-test.db"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    base = _pg_base_url()
    if base is None:
        pytest.skip(f"{PG_ENV} is not set (a PostgreSQL URL); skipping PostgreSQL tests")
    import asyncio

    from storage.engine import create_engine

    name = f"rb_test_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(base).set(drivername="postgresql+asyncpg")

    async def run(statement: str) -> None:
        engine = create_engine(
            admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        async with engine.connect() as conn:
            await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test on SQLite and on PostgreSQL (skipped only when TEST_DATABASE_URL is unset)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def app(sqlite_url: str, clock: FixedClock) -> AsyncIterator[App]:
    """The real app on a fresh SQLite file with the demo policy and a fixed clock."""
    async with running_app(Settings(database_url=sqlite_url), clock=clock) as built:
        yield built


@pytest.fixture
async def any_app(database_url: str, clock: FixedClock) -> AsyncIterator[App]:
    """The real app on SQLite and on PostgreSQL."""
    async with running_app(Settings(database_url=database_url), clock=clock) as built:
        yield built
