"""Engines for SQLite (one shop) and PostgreSQL (a chain), with the settings each needs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.sqlite_driver import one_hop_dbapi


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`; plain driver names get their async twin."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    # A failed statement's parameters are a member's name, phone, birthday or message: they must
    # never reach an exception message, and so never an ERROR log line.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        _create_private_file(parsed.database)
        if parsed.get_driver_name() == "aiosqlite":
            kwargs.setdefault("module", one_hop_dbapi())  # see storage.sqlite_driver
        engine = create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    for name, value in POSTGRES_POOL.items():
        kwargs.setdefault(name, value)
    return create_async_engine(parsed, **kwargs)


# PostgreSQL pool. No ping before each checkout: it was one of the four round trips of every
# short transaction (a third of /points' database time). A connection the server dropped
# fails its next statement instead, which invalidates the whole pool, so after a database
# restart one transaction gets the error and the rest reconnect; connections are also renewed
# every half hour, before idle-connection limits of proxies and servers cut them. Ten kept plus
# ten extra serve a webhook worker's concurrent updates without queueing. (SQLite keeps the
# default pool: every aiosqlite connection is a thread of its own, and there is one writer.)
POSTGRES_POOL: dict[str, Any] = {
    "pool_pre_ping": False,
    "pool_recycle": 1800,
    "pool_size": 10,
    "max_overflow": 10,
}


def _create_private_file(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (0600): it holds members' phones
    and birthdays. SQLite's journal and WAL files take the same permissions."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists():
        return  # an operator's own choice of permissions is kept
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return  # another process created it a moment ago
    except OSError:
        return  # a missing folder: SQLite reports that itself, in its own words
    os.close(fd)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the sender read while a handler writes; foreign keys are off by default in SQLite;
    # the busy timeout turns short write contention into a wait instead of an error.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
