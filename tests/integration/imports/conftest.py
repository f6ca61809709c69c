"""The database the command-line import tests run against."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.bootstrap import build_app
from bot.config import Settings
from tests.support.imports import add_stores


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file with the two stores, and a working directory without stray settings."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RETAILBOT_CONFIG", raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"

    async def prepare() -> None:
        app = await build_app(Settings(database_url=url))
        await add_stores(app)
        await app.close()

    asyncio.run(prepare())
    return url
