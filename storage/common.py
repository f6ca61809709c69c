"""Helpers every repository uses: money in cents, chunked inserts that ignore duplicates, and
the mapping between a domain dataclass and its row."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import Insert, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import Table

DELIVERY_CHANNEL = "telegram"  # the only channel with a messenger that can write first
MAX_ERROR = 500  # characters of an error kept on a row
T = TypeVar("T")

CHUNK = 500  # keeps IN (...) lists and executemany batches under every driver's limits


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def insert_ignoring_duplicates(conn: AsyncConnection, table: Table) -> Insert:
    """INSERT that skips rows violating a unique constraint, on SQLite and PostgreSQL."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)


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
        """The dataclass a row read back stands for."""
        found = row._mapping
        kwargs: dict[str, Any] = {}
        for field, column in self.columns.items():
            if column not in found:
                continue
            value = found[column]
            if field in self.cents:
                value = None if value is None else from_cents(value)
            elif field in self.enums:
                value = None if value is None else self.enums[field](value)
            elif field in self.tuples:
                value = tuple(value or ())
            elif field in self.lists:
                value = list(value or [])
            elif field in self.dicts:
                value = dict(value or {})
            elif field in self.bools:
                value = bool(value)
            kwargs[field] = value
        return self.entity_type(**kwargs)
