"""Helpers every repository uses: money in cents, chunked inserts that ignore duplicates, the
mapping between a domain dataclass and its row, a row read under a lock, and a member's rows
for export and merges."""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import (
    Insert,
    Select,
    String,
    Update,
    any_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.schema import Table

from domain.messaging.model import MessageKind, OutboxStatus
from domain.shared.member_data import json_row
from storage.members.tables import chat_users
from storage.messaging.tables import outbox

DELIVERY_CHANNEL = "telegram"  # the only channel with a messenger that can write first
MAX_ERROR = 500  # characters of an error kept on a row
T = TypeVar("T")

CHUNK = 500  # keeps IN (...) lists and executemany batches under every driver's limits


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def insert_ignoring_duplicates(conn: AsyncConnection | str, table: Table) -> Insert:
    """INSERT that skips rows violating a unique constraint, on SQLite and PostgreSQL (`conn`
    may be the connection or its dialect's name). Built once per database and table: give the
    row as the execute's parameters (see update_by_id for why)."""
    return _ignoring(conn if isinstance(conn, str) else conn.dialect.name, table)


@functools.cache
def _ignoring(dialect: str, table: Table) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)


@functools.cache
def update_by_id(table: Table) -> Update:
    """UPDATE `table` ... WHERE id = :row_id, built once per table; the execute's parameters
    give the columns to set and the row, `{column: value, ..., "row_id": id}`.

    For the statements a conversation or a job runs once per row: values written into a
    statement (`.values(...)`, `== value`) are bound parameters SQLAlchemy makes and then
    walks for its cache key on every call, which took a fifth of the demo's year; a statement
    built once and given its values at execute skips both (`insert(table)` likewise)."""
    return update(table).where(table.c.id == bindparam("row_id"))


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class RowMapping(Generic[T]):
    """A domain dataclass and its table row, mapped both ways.

    A field maps to the column of the same name; the exceptions are named once here rather
    than spelled out field by field in every repository: money kept in whole cents (column
    `<field>_cents`), enums stored by value, tuples and lists and dicts stored as JSON, flags
    that some databases hand back as 0/1. Fields without a column (derived values) are left to
    their defaults; `values` never writes `id` (the database assigns it).
    """

    def __init__(
        self,
        entity: type[T],
        table: Table,
        *,
        cents: Iterable[str] = (),
        enums: Mapping[str, Callable[[Any], Any]] | None = None,
        tuples: Iterable[str] = (),
        lists: Iterable[str] = (),
        dicts: Iterable[str] = (),
        bools: Iterable[str] = (),
    ) -> None:
        self.entity_type = entity
        self.cents, self.tuples = frozenset(cents), frozenset(tuples)
        self.lists, self.dicts, self.bools = frozenset(lists), frozenset(dicts), frozenset(bools)
        self.enums = dict(enums or {})
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self.columns: dict[str, str] = {}
        for field in dataclasses.fields(entity):  # type: ignore[arg-type]
            column = f"{field.name}_cents" if field.name in self.cents else field.name
            if column in table.c:
                self.columns[field.name] = column

    def values(self, obj: T) -> dict[str, Any]:
        """The row to write for `obj`, without its id."""
        row: dict[str, Any] = {}
        for field, column in self.columns.items():
            if field == "id":
                continue
            value = getattr(obj, field)
            if value is not None:
                if field in self.cents:
                    value = to_cents(value)
                elif field in self.enums:
                    value = value.value
                elif field in self.tuples:
                    value = list(value)
            row[column] = value
        return row

    def entity(self, row: Any) -> T:
        """The dataclass a row read back stands for (any row with `_fields`: SQLAlchemy's, or
        one of row_type's)."""
        return self._make(self._plan_for(row._fields), row)

    def entities(self, rows: Iterable[Any]) -> list[T]:
        """`entity` of each row of one result, read the same way: how to read each field is
        worked out once, not field by field for every row (a refund reads its member's whole
        ledger, an import's refunds tens of thousands of entries)."""
        made: list[T] = []
        plan = None
        for row in rows:
            if plan is None:
                plan = self._plan_for(row._fields)
            made.append(self._make(plan, row))
        return made

    def _make(self, plan: _Plan, row: Any) -> T:
        fields, take, conversions = plan
        kwargs = dict(zip(fields, take(row), strict=True))
        for field, convert in conversions:
            kwargs[field] = convert(kwargs[field])
        return self.entity_type(**kwargs)

    def _plan_for(self, names: tuple[str, ...]) -> _Plan:
        plan = self._plans.get(names)
        if plan is None:
            plan = self._plans[names] = self._plan(names)
        return plan

    def _plan(self, names: Sequence[str]) -> _Plan:
        """For rows of these columns: the fields they give, a getter of their values in that
        order, and the conversion of each field that needs one."""
        position: dict[str, int] = {}
        for index, name in enumerate(names):
            position.setdefault(name, index)  # the first of a repeated name, as _mapping's
        fields = [field for field, column in self.columns.items() if column in position]
        indexes = [position[self.columns[field]] for field in fields]
        conversions = [
            (field, convert) for field in fields
            if (convert := self._conversion(field)) is not None
        ]
        return tuple(fields), _getter(indexes), tuple(conversions)

    def _conversion(self, field: str) -> Callable[[Any], Any] | None:
        if field in self.cents:
            return _none_or(from_cents)
        if field in self.enums:
            return _none_or(self.enums[field])
        if field in self.tuples:
            return lambda value: tuple(value or ())
        if field in self.lists:
            return lambda value: list(value or [])
        if field in self.dicts:
            return lambda value: dict(value or {})
        if field in self.bools:
            return bool
        return None


# The fields a set of columns gives, a getter of their values, and the conversions to make.
_Plan = tuple[
    tuple[str, ...], Callable[[Any], Sequence[Any]], tuple[tuple[str, Callable[[Any], Any]], ...]
]


def _getter(indexes: Sequence[int]) -> Callable[[Any], Sequence[Any]]:
    """The values at `indexes` of a row, as a sequence (itemgetter gives one value bare)."""
    if len(indexes) == 1:
        index = indexes[0]
        return lambda row: (row[index],)
    if not indexes:
        return lambda row: ()
    return operator.itemgetter(*indexes)


def _none_or(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def row_type(table: Table) -> type[tuple[Any, ...]]:
    """A tuple class for `table`'s values in column order, read by name like a row SQLAlchemy
    made (`row.name`, `row._mapping`): for rows read on the driver (storage.driver_statements)."""
    base: Any = namedtuple(f"{table.name}_row", table.c.keys())  # type: ignore[misc]

    class Row(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(self._fields, self, strict=True))

    return Row


# -- a member's rows, for the features' MemberData (export and reassign) ------------------------


async def json_rows(conn: AsyncConnection, query: Select[Any]) -> list[dict[str, Any]]:
    """The rows `query` reads, each as a JSON-friendly dict (what a member's export holds)."""
    return [json_row(row._mapping) for row in await conn.execute(query)]


async def member_rows(
    conn: AsyncConnection, table: Table, member_id: int, order_by: Any = None
) -> list[dict[str, Any]]:
    """The rows of `table` whose `member_id` is the member's, JSON-friendly, in the order of
    `order_by` (the table's id when not given)."""
    order = table.c.id if order_by is None else order_by
    query = select(table).where(table.c.member_id == member_id).order_by(order)
    return await json_rows(conn, query)


async def move_member_rows(
    conn: AsyncConnection, tables: Iterable[Table], from_member_id: int, to_member_id: int
) -> int:
    """Point the `member_id` of every row of `tables` that names one member at another (a
    merge); return the rows moved."""
    moved = 0
    for table in tables:
        result = await conn.execute(
            update(table).where(table.c.member_id == from_member_id).values(member_id=to_member_id)
        )
        moved += int(result.rowcount or 0)
    return moved


# -- bulk inserts for imports ---------------------------------------------------------------------


class BulkInsert:
    """An INSERT of `columns` written once for the connection's database and run over plain
    tuples in one call: the driver's own executemany on SQLite, ONE statement over arrays (one
    per column, `unnest`) on PostgreSQL, where a row-by-row executemany cost the server a
    statement per row.

    For an import's tens of thousands of rows: SQLAlchemy's per-row parameter processing cost as
    much as the insert itself. The tuples hold what the driver takes (`to_cents`, `utc_value`
    for times), in the order of `columns`. `ignore_duplicates` skips rows that break a unique
    constraint, as insert_ignoring_duplicates does; `on_conflict` instead, the rest of an
    `ON CONFLICT` clause in plain SQL (`(key) DO UPDATE SET ...`, `excluded` naming the new
    row; each key once per run, as PostgreSQL wants)."""

    def __init__(
        self,
        conn: AsyncConnection,
        table: Table,
        columns: Sequence[str],
        *,
        ignore_duplicates: bool = False,
        on_conflict: str = "",
    ) -> None:
        self.conn = conn
        self.by_column = conn.dialect.name == "postgresql"
        quote = conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        if self.by_column:
            source = f"SELECT * FROM {_unnest(conn, table, columns)}"
        else:
            source = f"VALUES ({', '.join(_marks(conn, len(columns)))})"
        if ignore_duplicates:
            on_conflict = "DO NOTHING"
        self.sql = f"INSERT INTO {quote(table.name)} ({names}) {source}" + (
            f" ON CONFLICT {on_conflict}" if on_conflict else ""
        )

    async def run(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.by_column:
            by_column = tuple(list(column) for column in zip(*rows, strict=True))
            await self.conn.exec_driver_sql(self.sql, by_column)
        else:
            await self.conn.exec_driver_sql(self.sql, list(rows))


class BulkUpdate(BulkInsert):
    """UPDATE `table` SET `columns` WHERE `key` = ..., run as BulkInsert runs: each tuple holds
    the new values in the order of `columns`, then the key (each key once)."""

    def __init__(
        self, conn: AsyncConnection, table: Table, columns: Sequence[str], key: str
    ) -> None:
        self.conn = conn
        self.by_column = conn.dialect.name == "postgresql"
        quote = conn.dialect.identifier_preparer.quote
        name = quote(table.name)
        if self.by_column:
            given = _unnest(conn, table, (*columns, key))
            sets = ", ".join(f"{quote(c)} = given.{quote(c)}" for c in columns)
            self.sql = (
                f"UPDATE {name} SET {sets} FROM {given} WHERE {name}.{quote(key)} = "
                f"given.{quote(key)}"
            )
        else:
            marks = _marks(conn, len(columns) + 1)
            sets = ", ".join(f"{quote(c)} = {m}" for c, m in zip(columns, marks, strict=False))
            self.sql = f"UPDATE {name} SET {sets} WHERE {quote(key)} = {marks[-1]}"


def _unnest(conn: AsyncConnection, table: Table, columns: Sequence[str]) -> str:
    """PostgreSQL: `unnest($1::type[], ...) AS given(columns)`, one array per column."""
    quote = conn.dialect.identifier_preparer.quote
    arrays = ", ".join(
        f"{mark}::{table.c[column].type.compile(dialect=conn.dialect)}[]"
        for mark, column in zip(_marks(conn, len(columns)), columns, strict=True)
    )
    return f"unnest({arrays}) AS given({', '.join(quote(c) for c in columns)})"


def _marks(conn: AsyncConnection, count: int) -> list[str]:
    """The driver's own placeholders for `count` values."""
    style = conn.dialect.paramstyle
    if style == "qmark":
        return ["?"] * count
    if style == "numeric_dollar":
        return [f"${index}" for index in range(1, count + 1)]
    if style == "format":
        return ["%s"] * count
    raise ValueError(f"no bulk statement for the {style} parameter style")


def utc_value(conn: AsyncConnection) -> Callable[[datetime], Any]:
    """What the driver takes for a storage.types.UtcDateTime column: the same value that type
    binds (SQLite: the UTC time as SQLAlchemy writes it, text; PostgreSQL: the aware time)."""
    if conn.dialect.name == "sqlite":
        return _sqlite_utc
    return _aware


def _sqlite_utc(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"naive value {value!r} for a UTC column")
    utc = value - offset  # the same tzinfo, the wall time moved to UTC
    # SQLAlchemy's SQLite DATETIME text, "2026-06-15 10:00:00.000000" (a test compares them).
    return datetime.combine(utc, utc.time()).isoformat(" ", "microseconds")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive value {value!r} for a UTC column")
    return value


async def row_by_id(
    conn: AsyncConnection, table: Table, row_id: int, *, lock: bool = False
) -> Any:
    """The row of `table` with this id, or None. With `lock`, no other writer can change it until
    the transaction ends: FOR UPDATE on PostgreSQL. SQLite locks the database for a writer, and
    only on a write, so there a no-op update of the row's `status` takes the lock now and what
    is read cannot go stale (not of its id: SQLite would check every row that refers to it)."""
    query = select(table).where(table.c.id == row_id)
    if lock:
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        else:
            await conn.execute(_lock_by_id(table), {"row_id": row_id})
    return (await conn.execute(query)).first()


@functools.cache
def _lock_by_id(table: Table) -> Update:
    """row_by_id's lock on SQLite: the row's status set to itself."""
    return update_by_id(table).values(status=table.c.status)


async def latest_reachable_chats(
    conn: AsyncConnection, member_ids: Iterable[int] | None
) -> dict[int, tuple[int, str]]:
    """Per member, the chat on the delivery channel they used most recently and that has not
    blocked us: (chat account id, chat id). With `member_ids` None, every member's, read in one
    pass (a whole audience: 100,000 ids in chunks of 500 cost far more, on PostgreSQL above
    all); otherwise theirs, by id."""
    query = (
        select(chat_users.c.id, chat_users.c.member_id, chat_users.c.chat_id)
        .where(
            chat_users.c.member_id.is_not(None),
            chat_users.c.channel == DELIVERY_CHANNEL,
            chat_users.c.reachable.is_(True),
        )
        .order_by(chat_users.c.updated_at, chat_users.c.id)
    )
    chunks = [None] if member_ids is None else _chunks(list(set(member_ids)))
    found: dict[int, tuple[int, str]] = {}
    for chunk in chunks:
        scoped = query if chunk is None else query.where(chat_users.c.member_id.in_(list(chunk)))
        for row in await conn.execute(scoped):  # later rows win: the most recent chat
            found[row.member_id] = (row.id, row.chat_id)
    return found


def one_of(conn: AsyncConnection, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`, the values sent as ONE parameter: a JSON array read by json_each on
    SQLite, an array compared with = ANY on PostgreSQL. With an import's thousands of keys a
    look-up costs a fraction of an IN list of one parameter per value (each bound and sent on
    its own), and needs no chunking under a driver's limit on parameters. For text and integer
    columns (a JSON array cannot say dates)."""
    listed = list(values)
    if conn.dialect.name == "sqlite":
        # The column type's own bind processing (an encrypted phone is looked up by its
        # ciphertext), which a JSON array would otherwise skip.
        process = column.type.bind_processor(conn.dialect)
        if process is not None:
            listed = [process(value) for value in listed]
        text = json.dumps(listed, ensure_ascii=False)  # JSON's own escapes for control characters
        table = func.json_each(bindparam(None, text, type_=String)).table_valued("value")
        return cast("ColumnElement[bool]", column.in_(select(table.c.value)))
    if conn.dialect.name == "postgresql":
        return cast(
            "ColumnElement[bool]",
            column == any_(bindparam(None, listed, type_=postgresql.ARRAY(column.type))),
        )
    return cast("ColumnElement[bool]", column.in_(listed))


async def marketing_sent_counts(
    conn: AsyncConnection, member_ids: Iterable[int], since: datetime
) -> dict[int, int]:
    """The frequency cap's count, the one rule for the sender and for a campaign's audience:
    marketing messages delivered to each member since `since` (a row is counted once sent;
    one skipped, failed or still waiting does not use up the member's cap)."""
    counts: dict[int, int] = {}
    for chunk in _chunks(list(set(member_ids))):
        rows = await conn.execute(
            select(outbox.c.member_id, func.count())
            .where(
                outbox.c.member_id.in_(list(chunk)),
                outbox.c.kind == MessageKind.MARKETING.value,
                outbox.c.status == OutboxStatus.SENT.value,
                outbox.c.sent_at >= since,
            )
            .group_by(outbox.c.member_id)
        )
        counts.update({int(r[0]): int(r[1]) for r in rows})
    return counts
