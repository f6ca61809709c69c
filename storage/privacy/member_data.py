"""The privacy feature's part of a member's footprint: consents, their log, deletion requests
and aliases."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.privacy.model import ConsentSource, Purpose
from domain.shared.member_data import Export
from storage.common import member_rows, move_member_rows
from storage.privacy.tables import consent_log, erasure_requests, member_aliases, member_consents

ERASED = ConsentSource.ERASED.value


class SqlPrivacyData:
    """Consents, the consent log, deletion requests and merged numbers of the member.

    Erase keeps them: they name the member by id only, and they are the chain's proof that it
    asked before it used the data and deleted it when asked. Consent states are set to "no"
    for every purpose (an erased member is never contacted or profiled again).

    Reassign moves the log, the requests and the aliases to the kept member; the dropped
    member's current consent states are deleted, because the merge has already written the
    kept member's (the most restrictive of both) before this runs.
    """

    name = "privacy"
    tables: Mapping[str, tuple[str, ...]] = MappingProxyType(
        {
            "member_consents": ("member_id",),
            "consent_log": ("member_id",),
            "erasure_requests": ("member_id",),
            "member_aliases": ("member_id",),
        }
    )

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def export(self, member_id: int) -> Export:
        out: Export = {
            "member_consents": await member_rows(
                self.conn, member_consents, member_id, order_by=member_consents.c.purpose
            )
        }
        for table in (consent_log, erasure_requests, member_aliases):
            out[table.name] = await member_rows(self.conn, table, member_id)
        return out

    async def erase(self, member_id: int) -> int:
        already = await self.conn.scalar(
            select(func.count())
            .select_from(member_consents)
            .where(member_consents.c.member_id == member_id, member_consents.c.source == ERASED)
        )
        if already == len(Purpose):
            return 0
        await self.conn.execute(
            delete(member_consents).where(member_consents.c.member_id == member_id)
        )
        now = datetime.now(UTC)
        await self.conn.execute(
            insert(member_consents),
            [
                {"member_id": member_id, "purpose": purpose.value, "granted": False,
                 "source": ERASED, "changed_at": now}
                for purpose in Purpose
            ],
        )
        return len(Purpose)

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        moved_tables = (consent_log, erasure_requests, member_aliases)
        moved = await move_member_rows(self.conn, moved_tables, from_member_id, to_member_id)
        await self.conn.execute(
            delete(member_consents).where(member_consents.c.member_id == from_member_id)
        )
        return moved
