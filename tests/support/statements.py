"""Counting the SQL an app runs: for tests that pin how many statements a use case needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
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


def counting(
    original: Callable[..., Awaitable[Any]], seen: Callable[[tuple[Any, ...]], None]
) -> Callable[..., Awaitable[Any]]:
    """An async method that tells `seen` its arguments (after self), then runs `original`: set
    on a driver's class to count what reaches the database (calls on aiosqlite's thread,
    asyncpg's round trips)."""

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen(args)
        return await original(self, *args, **kwargs)

    return counted
