"""The messaging feature's part of a member's footprint: the outbox rows addressed to them, and
those the staff were sent about their complaint tickets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, and_, case, literal, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.messaging.model import WAITING, OutboxStatus
from domain.shared.member_data import ERASED_REASON, Export
from domain.tickets.rules import topic_of
from storage.common import _chunks, json_rows, move_member_rows
from storage.members.tables import chat_users
from storage.messaging.tables import outbox
from storage.tickets.tables import tickets


def scrubbed_outbox_values() -> dict[str, Any]:
    """What an erase writes over an outbox row about a member: the content goes, the facts stay.

    The parameters (a name, a code, a quoted message), a text sent as is, photos and buttons are
    cleared; the message key, kind, status, attempts and times stay, so delivery counts, the
    frequency cap and campaign figures add up as before. A row still waiting is never sent
    (there is nothing left to send): it becomes `skipped`, with the reason. A text row keeps an
    empty text rather than none, since an outbox row has either a key or a text.
    """
    waiting = [status.value for status in WAITING]
    return {
        "params": {},
        "text": case((outbox.c.text.is_not(None), literal("")), else_=null()),
        "photo": None,
        "photo_file_id": None,
        "buttons": [],
        "status": case(
            (outbox.c.status.in_(waiting), literal(OutboxStatus.SKIPPED.value)),
            else_=outbox.c.status,
        ),
        "last_error": case(
            (outbox.c.status.in_(waiting), literal(ERASED_REASON)), else_=outbox.c.last_error
        ),
    }


class SqlMessagingData:
    """Outbox rows to the member (greetings, coupon reminders, ticket answers, invitations), and
    the staff's rows about the member's complaint tickets.

    Rows are the member's when they name the member, or when they go to one of the member's
    chat accounts. The staff's messages about a ticket (its card with the member's name and the
    complaint, relayed messages and photos, SLA alerts) name no member: they are found through
    the member's tickets, by their dedupe key `ticket:<id>:...`. The weekly survey summary
    quotes comments too; the surveys feature, which knows its lines, erases those.

    Erase keeps each row (delivery counts and campaign figures count them) but clears its
    content (see `scrubbed_outbox_values`), and on the member's own rows the chat it went to:
    the chat id is the person's Telegram account.

    Reassign moves rows naming the merged member to the kept one: dedupe keys are unique across
    the chain, not per member, so nothing collides; the kept member's frequency cap then counts
    both members' marketing, which is what a cap for one person should do. The staff's rows
    follow the tickets, which the tickets feature moves.
    """

    name = "messaging"
    tables: Mapping[str, tuple[str, ...]] = MappingProxyType({"outbox": ("member_id",)})

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def export(self, member_id: int) -> Export:
        found = await json_rows(
            self.conn, select(outbox).where(_addressed_to(member_id)).order_by(outbox.c.id)
        )
        for chunk in _chunks(await self._ticket_ids(member_id)):
            found += await json_rows(
                self.conn, select(outbox).where(_about_tickets(chunk)).order_by(outbox.c.id)
            )
        return {"outbox": found}

    async def erase(self, member_id: int) -> int:
        count = 0
        for chunk in _chunks(await self._ticket_ids(member_id)):
            about = await self.conn.execute(
                update(outbox).where(_about_tickets(chunk)).values(**scrubbed_outbox_values())
            )
            count += about.rowcount
        theirs = await self.conn.execute(
            update(outbox)
            .where(_addressed_to(member_id))
            .values(**scrubbed_outbox_values(), chat_id="", sent_message_id=None)
        )
        return count + theirs.rowcount

    async def _ticket_ids(self, member_id: int) -> list[int]:
        found = await self.conn.scalars(
            select(tickets.c.id).where(tickets.c.member_id == member_id).order_by(tickets.c.id)
        )
        return list(found)

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        return await move_member_rows(self.conn, (outbox,), from_member_id, to_member_id)


def _addressed_to(member_id: int) -> ColumnElement[bool]:
    their_chats = select(chat_users.c.id).where(chat_users.c.member_id == member_id)
    return or_(outbox.c.member_id == member_id, outbox.c.chat_user_id.in_(their_chats))


def _about_tickets(ids: Sequence[int]) -> ColumnElement[bool]:
    """The staff's outbox rows about these tickets: keys `ticket:<id>:...` naming no member (a
    row naming one is addressed to them)."""
    return and_(
        outbox.c.member_id.is_(None),
        or_(*(outbox.c.dedupe_key.like(f"{topic_of(i)}:%") for i in ids)),
    )
