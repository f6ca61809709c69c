"""Handled update ids on SQLite and PostgreSQL: claimed with an insert that ignores duplicates."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.common import insert_ignoring_duplicates
from storage.driver_statements import DriverStatement
from storage.updates.tables import handled_updates


@cache
def _claim_statement(dialect: str) -> DriverStatement:
    """The claim's INSERT for one database, run on the driver: every update a bot handles
    makes one (one DriverStatement per database, each compiled once)."""
    return DriverStatement(insert_ignoring_duplicates(dialect, handled_updates))


class SqlHandledUpdateRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def claim(self, bot_id: str, update_id: int, now: datetime) -> bool:
        """Claim the update id: True the first time. Run on the driver
        (storage.driver_statements): with no transaction open yet, a statement committed on its
        own; in the transaction of the writes before it otherwise."""
        claim = _claim_statement(self.conn.dialect.name)
        values = {"bot_id": bot_id, "update_id": update_id, "handled_at": now}
        return bool(await claim.write(self.conn, values))

    async def forget_before(self, cutoff: datetime) -> int:
        result = await self.conn.execute(
            delete(handled_updates).where(handled_updates.c.handled_at < cutoff)
        )
        return int(result.rowcount or 0)
