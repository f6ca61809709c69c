"""The few statements every message runs, executed on the driver's own connection.

Every message a person sends reads who is talking, and the commonest command reads a balance;
each message also claims its update id. Through SQLAlchemy's execution each such statement
cost this machine about 290 microseconds of processor time on PostgreSQL (the execution
context, the cursor adapter, the result machinery, a greenlet switch), the same statement on
asyncpg's own prepared statement about 105 (bench/README.md). A `DriverStatement` keeps what
SQLAlchemy does well, building the statement and compiling it once per dialect with its
parameter and result type processing, and runs the compiled text on the connection's driver:

- PostgreSQL: asyncpg, through the prepared statement cache of SQLAlchemy's own adapter;
- SQLite: one call on aiosqlite's thread (storage.sqlite_driver), as SQLAlchemy would.

A statement run while the connection has no transaction open is a transaction of its own (on
PostgreSQL no BEGIN and no COMMIT reach the server: two round trips fewer for a message whose
only write is its claim); with one open, it is part of it. Rows come back as tuples in the
order of the statement's columns, their values processed as SQLAlchemy would have (times,
JSON, flags), and `before_cursor_execute` listeners see each statement as they would.
Any other driver, and any error of the driver's own path, runs the statement through
SQLAlchemy instead, which reports errors in its own types and drops a broken connection.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from storage.sqlite_driver import OneHopConnection

_ROWCOUNT = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the bound parameters, in the driver's order
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[Callable[[Any], Any] | None, ...]


class DriverStatement:
    """A statement built once, with named bound parameters, run on the driver (module doc)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        key = f"{dialect.name}+{dialect.driver}"
        found = self._compiled.get(key)
        if found is None:
            compiled: Any = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            names = tuple(compiled.positiontup or ())
            processors = compiled._bind_processors
            found = _Compiled(
                sql=compiled.string,
                names=names,
                binds=tuple(processors.get(name) for name in names),
                results=tuple(
                    column.type._cached_result_processor(dialect, None)
                    for column in compiled._result_columns
                ),
            )
            self._compiled[key] = found
        return found

    async def first(
        self, conn: AsyncConnection, values: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """The first row of the statement, its values processed as SQLAlchemy's would be."""
        found = (await self._run(conn, values))[0]
        return found[0] if found else None

    async def write(self, conn: AsyncConnection, values: Mapping[str, Any]) -> int:
        """Run a write; how many rows it wrote. With no transaction open on the connection, the
        write is committed on its own (SQLite: in the same call on its thread)."""
        return (await self._run(conn, values, alone=True))[1]

    async def _run(
        self, conn: AsyncConnection, values: Mapping[str, Any], alone: bool = False
    ) -> tuple[list[tuple[Any, ...]], int]:
        sync = conn.sync_connection
        try:
            adapted = sync.connection.dbapi_connection if sync is not None else None
        except Exception:  # an invalidated connection: SQLAlchemy reconnects it, or says why
            adapted = None
        if not isinstance(adapted, (AsyncAdapt_asyncpg_connection, OneHopConnection)):
            return await self._through_sqlalchemy(conn, values)
        compiled = self._for(conn.dialect)
        parameters = [
            value if process is None else process(value)
            for value, process in zip(
                (values[name] for name in compiled.names), compiled.binds, strict=True
            )
        ]
        assert sync is not None
        sync.dispatch.before_cursor_execute(sync, None, compiled.sql, parameters, None, False)
        try:
            if isinstance(adapted, OneHopConnection):
                raw, count = await adapted.run_alone(compiled.sql, parameters, commit=alone)
            else:
                raw, count = await _on_asyncpg(adapted, compiled.sql, parameters)
        except Exception:
            return await self._through_sqlalchemy(conn, values)
        results = compiled.results
        if not any(results):
            return [tuple(row) for row in raw], count
        return [
            tuple(v if p is None else p(v) for v, p in zip(row, results, strict=True))
            for row in raw
        ], count

    async def _through_sqlalchemy(
        self, conn: AsyncConnection, values: Mapping[str, Any]
    ) -> tuple[list[tuple[Any, ...]], int]:
        result = await conn.execute(self.statement, dict(values))
        if result.returns_rows:
            rows = [tuple(row) for row in result]
            return rows, len(rows)
        return [], int(result.rowcount or 0)


async def _on_asyncpg(
    adapted: AsyncAdapt_asyncpg_connection, sql: str, parameters: Sequence[Any]
) -> tuple[list[Any], int]:
    """asyncpg's prepared statement from the adapter's cache; inside the adapter's transaction
    when it began one, else a statement committed on its own."""
    async with adapted._execute_mutex:
        prepared, _attributes = await adapted._prepare(sql, 0)  # type: ignore[no-untyped-call]
        rows = await prepared.fetch(*parameters)
        found = _ROWCOUNT.match(prepared.get_statusmsg() or "")
        return rows, int(found.group(1)) if found else len(rows)
