"""Counting the SQL an app runs: for tests that pin how many statements a use case needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from bot.bootstrap import App


@contextmanager
def statements(
    app: App, matching: Callable[[str], bool] | None = None
) -> Iterator[list[str]]:
    """The statements the app runs inside the block, each on one line (only those `matching`
    accepts, when given)."""
    ran: list[str] = []

    def seen(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        line = " ".join(sql.split())
        if matching is None or matching(line):
            ran.append(line)

    engine = app.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield ran
    finally:
        event.remove(engine, "before_cursor_execute", seen)
