"""The members feature's part of a member's footprint: the member row and their chat accounts."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import Column, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.shared.member_data import ERASED_NAME, Export
from storage.common import json_rows, member_rows, move_member_rows
from storage.members.tables import chat_users, members
from storage.metadata import register_all_tables


class SqlMembersData:
    """The member row and the chat accounts linked to it.

    Erase keeps the row (its id is what the ledger, receipts and tickets hang on; its member
    number is the card the till still scans) but replaces the name with a marker and clears the
    phone, the birthday and marketing consent. The chat accounts are deleted: a Telegram
    account is the person, and a deleted account writing again is a stranger, who cannot link
    back because the phone is gone. Columns elsewhere that point at a deleted chat account
    (an outbox row, a survey invitation) are set to NULL first, as ON DELETE SET NULL would do.

    Reassign moves the chat accounts to the kept member (a member may link several). The
    merged member's own row, and what to do with its phone or consent, is the caller's choice.
    """

    name = "members"
    tables: Mapping[str, tuple[str, ...]] = MappingProxyType(
        {"members": ("id",), "chat_users": ("member_id",)}
    )

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def export(self, member_id: int) -> Export:
        member = select(members).where(members.c.id == member_id)
        return {
            "members": await json_rows(self.conn, member),
            "chat_users": await member_rows(self.conn, chat_users, member_id),
        }

    async def erase(self, member_id: int) -> int:
        changed = await self.conn.execute(
            update(members)
            .where(members.c.id == member_id)
            .values(
                name=ERASED_NAME,
                phone=None,
                phone_last4=None,
                birthday=None,
                birthday_md=None,
                marketing_consent=False,
            )
        )
        return changed.rowcount + await self._forget_chats(member_id)

    async def _forget_chats(self, member_id: int) -> int:
        ids = list(
            await self.conn.scalars(
                select(chat_users.c.id).where(chat_users.c.member_id == member_id)
            )
        )
        if not ids:
            return 0
        for column in _columns_pointing_at_chat_users():
            await self.conn.execute(
                update(column.table).where(column.in_(ids)).values({column.name: None})
            )
        removed = await self.conn.execute(delete(chat_users).where(chat_users.c.id.in_(ids)))
        return removed.rowcount

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        return await move_member_rows(self.conn, (chat_users,), from_member_id, to_member_id)


def _columns_pointing_at_chat_users() -> list[Column[object]]:
    """Every column of the schema with a foreign key to chat_users.id (the outbox's, the survey
    invitations'...), found in the metadata so a new feature's is not forgotten."""
    found = []
    for table in register_all_tables().tables.values():
        for column in table.columns:
            if any(fk.target_fullname == "chat_users.id" for fk in column.foreign_keys):
                found.append(column)
    return found
