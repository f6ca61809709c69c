"""The tickets feature's part of a member's footprint: their complaints, the threads and the
audit rows about them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from sqlalchemy import ColumnElement, and_, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.shared.member_data import ERASED_TEXT, Export
from domain.tickets.model import Author
from storage.common import json_rows, member_rows, move_member_rows
from storage.tickets.tables import audit_log, ticket_messages, tickets


class SqlTicketsData:
    """Tickets, their threads and audit rows naming the member.

    A thread is found through its ticket, and `ticket_messages.author_id` names the member on
    the messages they wrote (on the staff's, it is a staff id). What the staff were sent about
    the tickets is in the outbox, whose feature exports and erases it.

    Erase keeps every ticket with its category, status, store, SLA times and rating (the desk's
    figures), and every thread row (the count of answers), but replaces the description and
    every message of the member's tickets with a marker and drops the photos: the staff's
    answers and notes quote the member and address them by name. Audit rows stay as they are:
    they name the member by id only and hold no personal data by design, and nothing edits them.

    Reassign moves the tickets and the member's authorship of messages to the kept member, and
    the audit rows naming the merged member: the record of who looked at a person, and when,
    follows the person, and the merged member's row can then be removed. The `actor` of a row
    the member caused (`member:<id>`) is left as written; the caller records the merge itself
    in the audit log, which ties the two ids together.
    """

    name = "tickets"
    tables: Mapping[str, tuple[str, ...]] = MappingProxyType(
        {
            "tickets": ("member_id",),
            "ticket_messages": ("author_id",),
            "audit_log": ("member_id",),
        }
    )

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _ticket_ids(self, member_id: int) -> list[int]:
        found = await self.conn.scalars(
            select(tickets.c.id).where(tickets.c.member_id == member_id).order_by(tickets.c.id)
        )
        return list(found)

    async def export(self, member_id: int) -> Export:
        ids = await self._ticket_ids(member_id)
        thread = (
            select(ticket_messages)
            .where(_in_thread_or_written_by(ids, member_id))
            .order_by(ticket_messages.c.id)
        )
        audit = (
            select(audit_log)
            .where(or_(audit_log.c.member_id == member_id, _in(audit_log.c.ticket_id, ids)))
            .order_by(audit_log.c.id)
        )
        return {
            "tickets": await member_rows(self.conn, tickets, member_id),
            "ticket_messages": await json_rows(self.conn, thread),
            "audit_log": await json_rows(self.conn, audit),
        }

    async def erase(self, member_id: int) -> int:
        ids = await self._ticket_ids(member_id)
        described = await self.conn.execute(
            update(tickets)
            .where(tickets.c.member_id == member_id, tickets.c.description != ERASED_TEXT)
            .values(description=ERASED_TEXT)
        )
        messages = await self.conn.execute(
            update(ticket_messages)
            .where(
                _in_thread_or_written_by(ids, member_id),
                or_(
                    ticket_messages.c.text != ERASED_TEXT,
                    ticket_messages.c.photo_file_id.is_not(None),
                ),
            )
            .values(text=ERASED_TEXT, photo_file_id=None)
        )
        return described.rowcount + messages.rowcount

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        authored = await self.conn.execute(
            update(ticket_messages)
            .where(_written_by(from_member_id))
            .values(author_id=to_member_id)
        )
        moved = await move_member_rows(
            self.conn, (tickets, audit_log), from_member_id, to_member_id
        )
        return moved + authored.rowcount


def _in(column: ColumnElement[int | None], ids: Sequence[int]) -> ColumnElement[bool]:
    return column.in_(ids) if ids else false()


def _written_by(member_id: int) -> ColumnElement[bool]:
    return and_(
        ticket_messages.c.author == Author.MEMBER.value,
        ticket_messages.c.author_id == member_id,
    )


def _in_thread_or_written_by(ids: Sequence[int], member_id: int) -> ColumnElement[bool]:
    return or_(_in(ticket_messages.c.ticket_id, ids), _written_by(member_id))
