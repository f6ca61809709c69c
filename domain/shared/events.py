"""Domain events: how one feature makes another act without calling its services.

A use case records a past-tense event (`TicketClosed`, `SurveyAnswered`) in its unit of work;
the handlers wired at the composition root (bot/bootstrap.py) react to it at once, in the same
transaction, so whatever they queue in the outbox commits or rolls back with the change that
caused it. A handler may record further events; they are handled in turn, depth first, and a
chain deeper than `MAX_DEPTH` is a wiring mistake and raises.

Events are plain frozen values owned by the feature that records them
(domain/<feature>/events.py); a reacting feature imports the event, never the recorder's
services.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domain.shared.ports import UnitOfWork

MAX_DEPTH = 8


@dataclass(frozen=True)
class Event:
    """Something that happened; `at` is when, on the business clock."""

    at: datetime


EventHandler = Callable[["UnitOfWork", Any], Awaitable[None]]


class EventBus:
    """Which handlers react to which event type; built once at the composition root."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[EventHandler]] = defaultdict(list)

    def subscribe(self, event_type: type[Event], handler: EventHandler) -> None:
        self._handlers[event_type].append(handler)

    def handlers_for(self, event: Event) -> list[EventHandler]:
        return [h for t in type(event).__mro__ for h in self._handlers.get(t, [])]

    def subscriptions(self) -> dict[type[Event], list[EventHandler]]:
        return {t: list(hs) for t, hs in self._handlers.items()}

    async def dispatch(self, uow: UnitOfWork, event: Event, depth: int) -> None:
        """Run every handler of `event` in the caller's transaction; `depth` counts how many
        events up the chain caused this one (each unit of work keeps its own count)."""
        if depth > MAX_DEPTH:
            raise RuntimeError(
                f"events nest deeper than {MAX_DEPTH} ({type(event).__name__}): "
                "does a handler record the event it handles?"
            )
        for handler in self.handlers_for(event):
            await handler(uow, event)


NO_HANDLERS = EventBus()  # for a unit of work nobody wired: events are recorded, not handled
