"""Pacing of outgoing messages: a global rate, a minimum gap per chat, and pauses after a 429.

Pacing (one send every 1/rate seconds) rather than a bucket that allows bursts: Telegram counts
over short windows and punishes bursts, and a steady pace is never above the rate in any window.
Each slot is measured from when the previous send was actually released, not when it was
planned, so a late wake-up never lets two sends through closer than the interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

PRUNE_EVERY = 1000  # releases between clean-ups of chats that are ready again


class RateLimiter:
    """`await acquire(chat_id)` before each send; `pause(seconds)` when Telegram says 429."""

    def __init__(
        self,
        rate_per_second: float,
        per_chat_interval: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("the rate must be above 0 messages per second")
        self.interval = 1.0 / rate_per_second
        self.per_chat_interval = per_chat_interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0  # earliest moment of the next release, any chat
        self._paused_until = 0.0
        self._chat_next: dict[str, float] = {}
        self._releases = 0

    def chat_wait(self, chat_id: str) -> float:
        """Seconds until `chat_id` may get its next message (0 when it may now)."""
        return max(0.0, self._chat_next.get(chat_id, 0.0) - self._monotonic())

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` from now (a pause already longer is kept)."""
        self._paused_until = max(self._paused_until, self._monotonic() + max(0.0, seconds))

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._monotonic())

    async def acquire(self, chat_id: str) -> None:
        """Wait for this chat's turn within the global pace, then take it."""
        while True:
            now = self._monotonic()
            ready = max(self._next, self._paused_until, self._chat_next.get(chat_id, 0.0))
            if ready <= now:
                self._next = now + self.interval
                self._chat_next[chat_id] = now + self.per_chat_interval
                self._releases += 1
                if self._releases % PRUNE_EVERY == 0:
                    self._prune(now)
                return
            # Re-checked after waking: a pause may have begun meanwhile.
            await self._sleep(ready - now)

    def _prune(self, now: float) -> None:
        self._chat_next = {chat: at for chat, at in self._chat_next.items() if at > now}
