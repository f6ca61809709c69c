"""aiosqlite with one trip to its thread per statement instead of four.

aiosqlite runs every call on a SQLite connection in a thread of its own, and each call is a hop:
the event loop queues it, the thread wakes, takes the GIL, runs it and wakes the loop again.
SQLAlchemy's cursor over aiosqlite makes four such calls for every SELECT (open a cursor,
execute, fetch the rows, close the cursor) and three for every write. A member's `/points`
ran three statements and two commits, so most of the processor time its database part took
was these hops, not SQLite's work (bench/README.md).

This cursor does the same work in ONE call on aiosqlite's thread: open, execute, fetch
everything, note the description, row count and last row id, close. Everything else stays
SQLAlchemy's and aiosqlite's: the connection, its thread, commits, the dialect, the URL
(`sqlite+aiosqlite://`), and the server-side cursor for streamed results, which keeps its
own calls. What the rows are, and what is raised on an error, is what it was: the same
sqlite3 calls run, in the same thread, in the same order.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

# What one statement left: description, rows, row count, last row id, and whether a
# transaction is open on the connection afterwards.
_Outcome = tuple[Any, list[Any], int, Any, bool]


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On aiosqlite's thread: the statement from start to finish, with everything SQLAlchemy
    will ask of its cursor afterwards."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid, conn.in_transaction
    finally:
        cursor.close()


def _run_committed(
    conn: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> _Outcome:
    """`_run`, then, if the statement opened the transaction (a write with none open before),
    its commit, in the same call on the thread: the statement is a transaction of its own."""
    opened = not conn.in_transaction
    outcome = _run(conn, operation, parameters, many)
    if opened and outcome[4]:
        conn.commit()
        return (*outcome[:4], False)
    return outcome


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's buffered aiosqlite cursor, each statement one call on the thread."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    _adapt_connection: OneHopConnection

    def __init__(self, adapt_connection: OneHopConnection) -> None:
        # The parent would open an aiosqlite cursor here (a hop); there is none to open.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: Any = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return  # closed on the thread already, rows kept

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._one_call(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._one_call(operation, seq_of_parameters, many=True)

    async def _one_call(self, operation: str, parameters: Any, many: bool) -> None:
        outcome = await self._adapt_connection.call(_run, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid, _open = outcome
        self._rows = collections.deque(rows)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """Makes OneHopCursors, and skips the trip to the thread for a commit or rollback when no
    transaction is open: SQLite opens one at the first write, so a transaction that only read
    (most of what a member asks) has nothing to end, and sqlite3 would do nothing there."""

    __slots__ = ("_in_transaction",)
    _cursor_cls = OneHopCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._in_transaction = True  # not known yet: the first commit or statement tells

    async def call(self, run: Any, operation: str, parameters: Any, many: bool) -> _Outcome:
        """`run` (`_run` or `_run_committed`) in one call on the thread, this connection's
        statements one at a time, and whether SQLite has a transaction open noted from it."""
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._execute_mutex:
            try:
                outcome: _Outcome = await connection._execute(  # type: ignore[no-untyped-call]
                    run, connection._conn, operation, parameters, many
                )
            except BaseException:
                # A write that failed half-way (or was cancelled) may have opened a transaction
                # and left rows in it: the next rollback must reach SQLite.
                self._in_transaction = True
                raise
        self._in_transaction = outcome[4]
        return outcome

    async def run_alone(
        self, operation: str, parameters: Any, commit: bool = False
    ) -> tuple[list[Any], int]:
        """One statement in one call on the thread, past SQLAlchemy's cursor (for
        storage.driver_statements): its rows and row count. With `commit`, a write made while no
        transaction was open is committed in that same call."""
        outcome = await self.call(_run_committed if commit else _run, operation, parameters, False)
        return outcome[1], outcome[2]

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            self._in_transaction = True  # its statements are not watched: assume one is open
        return super().cursor(server_side)

    def commit(self) -> None:
        if self._in_transaction:
            super().commit()  # raises when SQLite refused: the transaction is still open
            self._in_transaction = False

    def rollback(self) -> None:
        if self._in_transaction:
            super().rollback()
            self._in_transaction = False


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite as SQLAlchemy's DB-API module, its connections making OneHopCursors; handed
    to `create_async_engine(module=...)`, so the URL and the dialect stay aiosqlite's."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def one_hop_dbapi() -> OneHopDbapi:
    """The module to give an aiosqlite engine (a new one each time: it holds no state)."""
    return OneHopDbapi(aiosqlite, sqlite3)

