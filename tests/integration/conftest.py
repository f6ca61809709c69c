"""Fixtures the integration tests of several features share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.bootstrap import App
from bot.config import Settings
from domain.shared.clock import FixedClock
from tests.support.apps import running_app
from tests.support.footprint import SEEDED_AT
from tests.support.tickets import STAFF_GROUP


@pytest.fixture
async def desk_app(database_url: str) -> AsyncIterator[App]:
    """The real app with a staff group, on SQLite and on PostgreSQL."""
    settings = Settings(database_url=database_url, staff_chat_id=STAFF_GROUP)
    async with running_app(settings, clock=FixedClock(SEEDED_AT)) as built:
        yield built
