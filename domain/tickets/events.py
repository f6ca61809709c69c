"""What the desk tells other features: a ticket closed, a call-back ticket opened."""

from __future__ import annotations

from dataclasses import dataclass

from domain.shared.events import Event


@dataclass(frozen=True)
class TicketClosed(Event):
    """A complaint ticket is closed for good (by staff, or by the follow-up job)."""

    ticket_id: int
    number: str
    member_id: int
    store_id: int | None
    category: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class RecoveryTicketOpened(Event):
    """A call-back ticket was opened for a survey answer."""

    answer_id: int
    ticket_id: int
    number: str


@dataclass(frozen=True)
class TicketResolved(Event):
    """Staff resolved a ticket (callbacks call the member back about it)."""

    ticket_id: int
    number: str
    member_id: int
    store_id: int | None
    category: str
    tags: tuple[str, ...]
