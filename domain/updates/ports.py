"""The repository of handled update ids: claim one before handling it, forget old ones."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class HandledUpdateRepository(Protocol):
    async def claim(self, bot_id: str, update_id: int, now: datetime) -> bool:
        """True when this update was not seen before (and is now remembered); False for a
        redelivery. Safe when two workers claim the same update at once: one wins."""
        ...

    async def forget_before(self, cutoff: datetime) -> int:
        """Drop ids handled before `cutoff` (Telegram redelivers for about a day)."""
        ...
