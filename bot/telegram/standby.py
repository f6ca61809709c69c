"""Only one process polls a bot: a second one waits quietly as a standby and takes over.

Telegram answers a second getUpdates of the same bot with 409 Conflict, and the frameworks log
that at ERROR every few seconds. Processes on one database agree first through a lock (an
advisory lock on PostgreSQL, a lock file beside a SQLite file): the standby says once that it
waits, and starts polling when the other stops. A poller on another database (another
machine) still meets the Conflict: that is said once at WARNING, not logged at ERROR forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from storage.jobs.scheduling import FileLeadership, PostgresLeadership, SoleLeadership

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.bootstrap import App

logger = logging.getLogger(__name__)

# A fixed key, apart from the scheduler's: polling and scheduling are led independently.
POLLER_KEY = zlib.crc32(b"retailbot-poller")
RETRY_SECONDS = 5.0
CONFLICT_SAID_EVERY = 600.0  # seconds between two warnings about a poller elsewhere

PollerLock = PostgresLeadership | FileLeadership | SoleLeadership


def poller_lock(engine: AsyncEngine) -> PollerLock:
    if engine.dialect.name == "postgresql":
        return PostgresLeadership(engine, key=POLLER_KEY)
    database = engine.url.database
    if not database or database == ":memory:":
        return SoleLeadership()
    return FileLeadership(Path(f"{database}.poller.lock"))


async def wait_to_poll(
    app: App, stop: asyncio.Event | None = None, *, retry: float = RETRY_SECONDS
) -> PollerLock | None:
    """The poller lock, once this process may poll; None when `stop` was set while waiting."""
    engine = getattr(app, "engine", None)
    # An adapter test's stand-in App has no database: it is the only poller there is.
    lock = poller_lock(engine) if engine is not None else SoleLeadership()
    if await lock.try_acquire():
        return lock
    logger.warning(
        "another retailbot process is polling this bot: this one waits as a standby and takes "
        "over when that one stops"
    )
    stop = stop or asyncio.Event()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):  # time to look at the lock again
            await asyncio.wait_for(stop.wait(), retry)
        if not stop.is_set() and await lock.try_acquire():
            logger.warning("the other poller stopped: this process polls the bot now")
            return lock
    return None


class ConflictFilter(logging.Filter):
    """Telegram's 409 Conflict from a poller elsewhere: one WARNING every ten minutes."""

    def __init__(self) -> None:
        super().__init__()
        self._said_at = -CONFLICT_SAID_EVERY

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message += f" {type(error).__name__} {error}"
        if "Conflict" not in message:
            return True
        now = time.monotonic()
        if now - self._said_at < CONFLICT_SAID_EVERY:
            return False
        self._said_at = now
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = (
            "another process polls this bot (Telegram answers 409 Conflict), probably on "
            "another machine or database: only one may poll; this one keeps retrying quietly"
        )
        record.args = None
        record.exc_info = record.exc_text = None
        return True


_FILTERED: set[str] = set()


def quiet_conflicts(*logger_names: str) -> None:
    """Put the ConflictFilter on the loggers a framework reports polling errors with."""
    for name in logger_names:
        if name not in _FILTERED:
            logging.getLogger(name).addFilter(ConflictFilter())
            _FILTERED.add(name)
