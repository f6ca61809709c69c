"""The callbacks feature's part of a member's footprint: their callbacks, the log of every
outcome (with the staff's notes) and the flags that stop calls."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.shared.member_data import ERASED_TEXT, Export
from storage.callbacks.tables import callback_flags, callback_log, callbacks
from storage.common import member_rows, move_member_rows


class SqlCallbacksData:
    """Callbacks, their log and the member's flags.

    Erase keeps every callback and log row with its rule, times, outcome and one-tap reason
    (the report's reach rate and outcomes stay what they were), but replaces the staff's notes
    with a marker and clears the context line (a ticket number that leads back to the person).
    The do-not-call and wrong-number flags go: they are about a phone number that is erased.

    Reassign moves callbacks, log rows and flags to the kept member; a flag the kept member
    already has is kept once (one flag per member and kind), the merged member's copy dropped.
    """

    name = "callbacks"
    tables: Mapping[str, tuple[str, ...]] = MappingProxyType(
        {
            "callbacks": ("member_id",),
            "callback_log": ("member_id",),
            "callback_flags": ("member_id",),
        }
    )

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def export(self, member_id: int) -> Export:
        return {
            table.name: await member_rows(self.conn, table, member_id)
            for table in (callbacks, callback_log, callback_flags)
        }

    async def erase(self, member_id: int) -> int:
        notes = await self.conn.execute(
            update(callback_log)
            .where(callback_log.c.member_id == member_id, callback_log.c.note != "",
                   callback_log.c.note != ERASED_TEXT)
            .values(note=ERASED_TEXT)
        )
        contexts = await self.conn.execute(
            update(callbacks)
            .where(callbacks.c.member_id == member_id, callbacks.c.context != "")
            .values(context="")
        )
        flags = await self.conn.execute(
            delete(callback_flags).where(callback_flags.c.member_id == member_id)
        )
        return notes.rowcount + contexts.rowcount + flags.rowcount

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        kept = set(
            await self.conn.scalars(
                select(callback_flags.c.kind).where(callback_flags.c.member_id == to_member_id)
            )
        )
        if kept:
            await self.conn.execute(
                delete(callback_flags).where(callback_flags.c.member_id == from_member_id,
                                             callback_flags.c.kind.in_(kept))
            )
        return await move_member_rows(
            self.conn, (callbacks, callback_log, callback_flags), from_member_id, to_member_id
        )
