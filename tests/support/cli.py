"""For the tests of `retailbot` commands: a database seeded through the real app, and the
command line run from the test's own folder, free of this machine's configuration."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.bootstrap import App
from bot.config import Settings
from domain.shared.clock import Clock
from tests.support.apps import running_app


def clean_cli_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in `tmp_path`, without a RETAILBOT_CONFIG or STAFF_CHAT_ID from outside."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RETAILBOT_CONFIG", raising=False)
    monkeypatch.delenv("STAFF_CHAT_ID", raising=False)


def seeded_database(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: Callable[[App], Awaitable[object]],
    *,
    name: str = "cli.db",
    clock: Clock | None = None,
) -> str:
    """The URL of a new SQLite file in `tmp_path` holding what `seed` put there through the
    app (closed again before any command runs), with the environment cleaned for the CLI."""
    clean_cli_environment(tmp_path, monkeypatch)
    url = f"sqlite+aiosqlite:///{tmp_path}/{name}"

    async def prepare() -> None:
        async with running_app(Settings(database_url=url), clock=clock) as app:
            await seed(app)

    asyncio.run(prepare())
    return url
