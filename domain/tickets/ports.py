"""Repositories of tickets, their threads and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # these modules use the unit of work themselves
    from domain.tickets.model import AuditEntry, QueueCounts, Ticket, TicketMessage

class TicketRepository(Protocol):
    async def add(self, ticket: Ticket) -> Ticket: ...
    async def get(self, ticket_id: int, *, lock: bool = False) -> Ticket | None:
        """With `lock`, others changing the ticket wait until this transaction ends."""
        ...

    async def save(self, ticket: Ticket) -> None: ...
    async def active_for_member(self, member_id: int) -> list[Ticket]:
        """Active tickets of a member, the most recently changed first."""
        ...

    async def for_member(self, member_id: int, limit: int) -> list[Ticket]: ...
    async def opened_at(self, member_id: int, at: datetime) -> list[Ticket]:
        """The member's tickets opened at exactly `at`, oldest first."""
        ...

    async def queue(self, limit: int) -> list[Ticket]:
        """Active tickets, the running SLA clock due soonest first."""
        ...

    async def queue_counts(self, now: datetime) -> QueueCounts: ...
    async def due_for_check(self, now: datetime, limit: int) -> list[int]: ...
    async def add_message(self, message: TicketMessage) -> TicketMessage: ...
    async def messages(self, ticket_id: int, limit: int) -> list[TicketMessage]:
        """The last `limit` entries of the thread, oldest first."""
        ...


class AuditRepository(Protocol):
    """The audit log: append-only."""

    async def add(self, entry: AuditEntry) -> None: ...
    async def find(
        self,
        *,
        ticket_id: int | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]: ...
