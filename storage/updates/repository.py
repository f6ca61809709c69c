"""Handled update ids on SQLite and PostgreSQL: claimed with an insert that ignores duplicates."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Insert, delete
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.common import insert_ignoring_duplicates
from storage.updates.tables import handled_updates


@cache
def _claim_statement(dialect: str) -> Insert:
    """The claim's INSERT for one database, built once: every update a bot handles makes one,
    and building a statement costs more processor time than SQLAlchemy's compiled cache saves."""
    return insert_ignoring_duplicates(dialect, handled_updates)


class SqlHandledUpdateRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def claim(self, bot_id: str, update_id: int, now: datetime) -> bool:
        result = await self.conn.execute(
            _claim_statement(self.conn.dialect.name),
            {"bot_id": bot_id, "update_id": update_id, "handled_at": now},
        )
        return bool(result.rowcount)

    async def forget_before(self, cutoff: datetime) -> int:
        result = await self.conn.execute(
            delete(handled_updates).where(handled_updates.c.handled_at < cutoff)
        )
        return int(result.rowcount or 0)
