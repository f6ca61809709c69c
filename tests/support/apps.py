"""The real app for a test: built on its settings, closed when the test is done with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.bootstrap import App, build_app
from bot.config import Settings
from domain.shared.clock import Clock
from domain.shared.policy import Policy


@asynccontextmanager
async def running_app(
    settings: Settings, *, clock: Clock | None = None, policy: Policy | None = None
) -> AsyncIterator[App]:
    """`build_app(settings)` (migrations run first), closed when the block ends."""
    app = await build_app(settings, clock=clock, policy=policy)
    try:
        yield app
    finally:
        await app.close()
