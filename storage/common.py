"""Helpers every repository uses: money in cents, chunked inserts that ignore duplicates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Insert, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import Table

DELIVERY_CHANNEL = "telegram"  # the only channel with a messenger that can write first
MAX_ERROR = 500  # characters of an error kept on a row
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
