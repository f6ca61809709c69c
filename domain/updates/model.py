"""A claim of one Telegram update id, made by the conversation step that handles the update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class ClaimState(Enum):
    PENDING = "pending"  # not written yet (or written in a transaction that was rolled back)
    CLAIMED = "claimed"  # committed: this delivery is the first, and it is remembered
    REDELIVERED = "redelivered"  # the id was claimed before: this delivery is skipped


@dataclass
class UpdateClaim:
    """Which update is being handled, for the step to claim in its own first transaction."""

    bot_id: str
    update_id: int
    at: datetime
    state: ClaimState = ClaimState.PENDING


class UpdateAlreadyHandled(Exception):  # noqa: N818 - a signal, not a failure
    """The update being handled was delivered before: the step stops, nothing is answered."""

    def __init__(self, update_id: int) -> None:
        super().__init__(f"update {update_id} was handled before")
        self.update_id = update_id
