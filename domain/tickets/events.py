"""What the desk tells other features: a ticket closed, a call-back ticket opened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Self

from domain.shared.events import Event

if TYPE_CHECKING:
    from domain.tickets.model import Ticket


@dataclass(frozen=True)
class _TicketEvent(Event):
    """What every ticket event says of its ticket (nothing subscribes to this base itself)."""

    ticket_id: int
    number: str
    member_id: int
    store_id: int | None
    category: str
    tags: tuple[str, ...]

    @classmethod
    def of(cls, ticket: Ticket, at: datetime) -> Self:
        assert ticket.id is not None
        return cls(at, ticket.id, ticket.number, ticket.member_id, ticket.store_id,
                   ticket.category, tuple(ticket.tags))


@dataclass(frozen=True)
class TicketClosed(_TicketEvent):
    """A complaint ticket is closed for good (by staff, or by the follow-up job)."""


@dataclass(frozen=True)
class RecoveryTicketOpened(Event):
    """A call-back ticket was opened for a survey answer."""

    answer_id: int
    ticket_id: int
    number: str


@dataclass(frozen=True)
class TicketResolved(_TicketEvent):
    """Staff resolved a ticket (callbacks call the member back about it)."""
