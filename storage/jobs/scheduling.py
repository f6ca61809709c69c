"""What the scheduler needs from the database: a sync URL for its job store, and leadership.

Leadership decides which process runs the scheduler and the sender. On PostgreSQL it is a
session advisory lock held on a dedicated connection for as long as the process leads: the
lock goes with the connection, so a process that dies or loses its connection lets another
take over, and starting two is harmless. SQLite serves one process; an exclusive lock on a
file beside the database keeps a second `retailbot run` on the same file from leading too.
"""

from __future__ import annotations

import logging
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# A fixed 32-bit key, the same in every process of every version: "retailbot-scheduler".
LEADER_KEY = zlib.crc32(b"retailbot-scheduler")


def sync_url(url: str) -> str:
    """The URL of the same database for a synchronous driver (APScheduler's job store).

    APScheduler 3 talks to its store synchronously; psycopg (3) is the sync PostgreSQL driver
    this project installs, sqlite3 is in Python.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite")
    elif backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def jobstore_engine_options(url: str) -> dict[str, Any]:
    if make_url(url).get_backend_name() == "sqlite":
        # The bot writes the same file at the same time: wait for its lock instead of failing.
        # The job store waits in the scheduler's worker thread (scheduler.service), never on the
        # event loop, so the update holding the lock can commit meanwhile; after 15 s the wait
        # fails and the wake-up is tried again later.
        return {"connect_args": {"timeout": 15}}
    return {"pool_pre_ping": True}


class PostgresLeadership:
    """pg_try_advisory_lock on a connection kept for as long as this process leads."""

    def __init__(self, engine: AsyncEngine, key: int = LEADER_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        if self._conn is not None:
            return True
        conn = await self.engine.connect()
        try:
            got = bool(
                await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
            )
            await conn.commit()  # a session lock outlives the transaction; idle, not in one
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def still_held(self) -> bool:
        """False once the connection (and with it the lock) is gone."""
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
            return True
        except Exception:
            log.warning("the leader's database connection failed; leadership is lost")
            await self._drop()
            return False

    async def release(self) -> None:
        if self._conn is None:
            return
        try:
            await self._conn.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
            )
            await self._conn.commit()
        except Exception:
            log.warning("could not release the leader lock; closing its connection frees it")
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:
                await conn.invalidate()


class FileLeadership:
    """An exclusive lock on a file (SQLite): one leading process per database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    async def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        try:
            import fcntl
        except ImportError:  # no flock on this platform: a single process is assumed
            return True
        handle = self.path.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    async def still_held(self) -> bool:
        return True

    async def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            handle.close()  # closing the file releases the lock


class SoleLeadership:
    """An in-memory database belongs to one process: it always leads."""

    async def try_acquire(self) -> bool:
        return True

    async def still_held(self) -> bool:
        return True

    async def release(self) -> None:
        return None


def leadership_for(engine: AsyncEngine) -> PostgresLeadership | FileLeadership | SoleLeadership:
    if engine.dialect.name == "postgresql":
        return PostgresLeadership(engine)
    database = engine.url.database
    if not database or database == ":memory:":
        return SoleLeadership()
    return FileLeadership(Path(f"{database}.leader.lock"))


async def stored_next_runs(engine: AsyncEngine) -> dict[str, datetime | None]:
    """Job id -> next run time as APScheduler's job store holds it; {} before its first start."""
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT id, next_run_time FROM apscheduler_jobs"))
            found = {
                str(row.id): datetime.fromtimestamp(row.next_run_time, UTC)
                if row.next_run_time is not None
                else None
                for row in rows
            }
    except Exception:  # the table appears when the scheduler first starts
        return {}
    return found
