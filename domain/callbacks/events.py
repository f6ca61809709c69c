"""What callbacks tell other features: a member reported a problem on a callback."""

from __future__ import annotations

from dataclasses import dataclass

from domain.shared.events import Event


@dataclass(frozen=True)
class CallbackProblemReported(Event):
    """A member said "I have a problem" to a check-in, or staff reached them and heard of one:
    the desk opens a ticket in `category` with the callback's context (tagged "callback")."""

    callback_id: int
    member_id: int
    category: str
    description: str
    store_id: int | None
