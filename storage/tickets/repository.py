"""Repositories of tickets, their threads and the audit log: they read and write, never commit."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.tickets.model import (
    ACTIVE_STATUSES,
    AuditEntry,
    Author,
    Priority,
    QueueCounts,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from storage.common import RowMapping, row_by_id, update_by_id
from storage.tickets.tables import audit_log, ticket_messages, tickets

TICKETS = RowMapping(
    Ticket, tickets, enums={"priority": Priority, "status": TicketStatus}, tuples=("tags",)
)
ticket_from_row = TICKETS.entity
THREAD_ROWS = RowMapping(
    TicketMessage, ticket_messages, enums={"author": Author}, bools=("internal",)
)
_message = THREAD_ROWS.entity
_entry = RowMapping(AuditEntry, audit_log).entity


def ticket_values(ticket: Ticket) -> dict[str, Any]:
    """The row of a ticket, with the clock that runs now (`sla_due_at`) for the queue's order."""
    return {
        **TICKETS.values(ticket),
        "updated_at": ticket.updated_at or ticket.created_at,
        "sla_due_at": ticket.sla_due,
    }


def queue_query(limit: int) -> Any:
    """Active tickets, the SLA due soonest first: the index on sla_due_at gives them in order."""
    return (
        select(tickets)
        .where(tickets.c.sla_due_at.is_not(None))
        .order_by(tickets.c.sla_due_at, tickets.c.id)
        .limit(limit)
    )


class SqlTicketRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, ticket: Ticket) -> Ticket:
        result = await self.conn.execute(insert(tickets), ticket_values(ticket))
        ticket.id = int(result.inserted_primary_key[0])
        return ticket

    async def get(self, ticket_id: int, *, lock: bool = False) -> Ticket | None:
        row = await row_by_id(self.conn, tickets, ticket_id, lock=lock)
        return ticket_from_row(row) if row else None

    async def save(self, ticket: Ticket) -> None:
        if ticket.id is None:
            raise ValueError("cannot save a ticket that was never added")
        await self.conn.execute(
            update_by_id(tickets), {**ticket_values(ticket), "row_id": ticket.id}
        )

    async def active_for_member(self, member_id: int) -> list[Ticket]:
        rows = await self.conn.execute(
            select(tickets)
            .where(
                tickets.c.member_id == member_id,
                tickets.c.status.in_([s.value for s in ACTIVE_STATUSES]),
            )
            .order_by(tickets.c.updated_at.desc(), tickets.c.id.desc())
        )
        return [ticket_from_row(row) for row in rows]

    async def for_member(self, member_id: int, limit: int) -> list[Ticket]:
        rows = await self.conn.execute(
            select(tickets)
            .where(tickets.c.member_id == member_id)
            .order_by(tickets.c.id.desc())
            .limit(limit)
        )
        return [ticket_from_row(row) for row in rows]

    async def opened_at(self, member_id: int, at: datetime) -> list[Ticket]:
        rows = await self.conn.execute(
            select(tickets)
            .where(tickets.c.member_id == member_id, tickets.c.created_at == at)
            .order_by(tickets.c.id)
        )
        return [ticket_from_row(row) for row in rows]

    async def queue(self, limit: int) -> list[Ticket]:
        return [ticket_from_row(row) for row in await self.conn.execute(queue_query(limit))]

    async def queue_counts(self, now: datetime) -> QueueCounts:
        row = (
            await self.conn.execute(
                select(
                    func.count().label("active"),
                    func.coalesce(
                        func.sum(case((tickets.c.sla_due_at <= now, 1), else_=0)), 0
                    ).label("breached"),
                    func.coalesce(
                        func.sum(case((tickets.c.assignee_id.is_(None), 1), else_=0)), 0
                    ).label("unassigned"),
                ).where(tickets.c.sla_due_at.is_not(None))
            )
        ).one()
        return QueueCounts(int(row.active), int(row.breached), int(row.unassigned))

    async def due_for_check(self, now: datetime, limit: int) -> list[int]:
        rows = await self.conn.execute(
            select(tickets.c.id)
            .where(tickets.c.next_check_at <= now)
            .order_by(tickets.c.next_check_at, tickets.c.id)
            .limit(limit)
        )
        return [int(row.id) for row in rows]

    async def add_message(self, message: TicketMessage) -> TicketMessage:
        result = await self.conn.execute(insert(ticket_messages), THREAD_ROWS.values(message))
        return replace(message, id=int(result.inserted_primary_key[0]))

    async def messages(self, ticket_id: int, limit: int) -> list[TicketMessage]:
        rows = await self.conn.execute(
            select(ticket_messages)
            .where(ticket_messages.c.ticket_id == ticket_id)
            .order_by(ticket_messages.c.id.desc())
            .limit(limit)
        )
        return [_message(row) for row in reversed(list(rows))]


class SqlAuditRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, entry: AuditEntry) -> None:
        await self.conn.execute(
            insert(audit_log),
            {
                "actor": entry.actor[:64],
                "action": entry.action[:48],
                "at": entry.at,
                "ticket_id": entry.ticket_id,
                "member_id": entry.member_id,
                "detail": entry.detail,
            },
        )

    async def find(
        self,
        *,
        ticket_id: int | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]:
        """The latest `limit` entries that match, oldest first."""
        query = select(audit_log)
        if ticket_id is not None:
            query = query.where(audit_log.c.ticket_id == ticket_id)
        if actor is not None:
            query = query.where(audit_log.c.actor == actor)
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        rows = await self.conn.execute(
            query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
        )
        return [_entry(row) for row in reversed(list(rows))]
