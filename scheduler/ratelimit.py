"""Pacing of outgoing messages: a global rate, limits per chat and per group, pauses after a 429.

Pacing (one send every interval) rather than a bucket that allows bursts: Telegram counts over
short windows and punishes bursts. Slots are planned on a steady grid, so waking up a little
late (a busy event loop) does not slow the pace down; a release more than LATE_FORGIVEN behind
its slot restarts the grid from now, so a long stall is never followed by a burst.

Pacing alone is not enough to be honest above about 25 messages a second. The Bot API server
counts calls when they arrive, and a call released on time may arrive late (the event loop was
busy before the request went out, the connection was slow) while the next one arrives on time:
a server counting over one second then sees one call too many. So each release also waits for
the call `rate` releases earlier to have ended (its answer came back, or it failed) and for one
second to have passed since then: that call reached the server before it ended, and this one
reaches it after it is released, so no one-second window at the server holds more than `rate`
calls, whatever the delays. The cost is the round trip: the rate reached is about `rate` / (1 +
round trip in seconds); the pace itself runs PACE_MARGIN below the rate so the two seldom meet.
Senders use `async with limiter.slot(chat)`; a bare `acquire` counts its call as ended at once.

Releases are handed out one at a time in order (a lock), so many waiting senders do not all wake
at every slot.

Groups: Telegram allows 20 messages a minute in one group, besides the gap between two messages
to one chat; a group's last releases are kept and its next one waits for the oldest to be a
minute old.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from domain.messaging.rules import is_group_chat

PRUNE_EVERY = 1000  # releases between clean-ups of chats that are ready again
PACE_MARGIN = 0.01  # the steady pace runs this share below the rate
LATE_FORGIVEN = 0.015  # seconds a release may lag its slot without moving the next one
GROUP_WINDOW = 60.0  # seconds over which a group's messages are counted
WINDOW = 1.0  # seconds over which the server counts calls
ENDED_WAIT = 1.0  # seconds between re-checks while waiting for an earlier call to end


class RateLimiter:
    """`async with slot(chat_id)` around each send; `pause(seconds)` when Telegram says 429."""

    def __init__(
        self,
        rate_per_second: float,
        per_chat_interval: float = 1.0,
        *,
        group_per_minute: float = 20.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("the rate must be above 0 messages per second")
        self.rate = rate_per_second
        self.interval = (1.0 + PACE_MARGIN) / rate_per_second
        self.per_window = max(1, math.floor(rate_per_second * WINDOW))
        self.per_chat_interval = per_chat_interval
        self.group_limit = max(1, int(group_per_minute))
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0  # earliest moment of the next release, any chat
        self._paused_until = 0.0
        self._chat_next: dict[str, float] = {}
        self._group_sent: dict[str, deque[float]] = {}
        self._releases = 0
        self._turn = asyncio.Lock()
        # Calls are numbered in release order. Every call below `_folded` has ended, and
        # `_latest_end[n]` is when the last of the calls 0..n ended.
        self._ends: dict[int, float] = {}  # ended calls not folded yet
        self._folded = 0
        self._latest_end: dict[int, float] = {}
        self._ended = asyncio.Event()

    def chat_wait(self, chat_id: str) -> float:
        """Seconds until `chat_id` may get its next message (0 when it may now)."""
        now = self._monotonic()
        return max(0.0, self._chat_ready(chat_id) - now)

    def waiting_chats(self) -> list[str]:
        """Chats that may not get a message yet, soonest ready first."""
        now = self._monotonic()
        waiting = [(at, chat) for chat, at in self._chat_next.items() if at > now]
        waiting += [
            (recent[0] + GROUP_WINDOW, chat)
            for chat, recent in self._group_sent.items()
            if len(recent) >= self.group_limit and recent[0] + GROUP_WINDOW > now
        ]
        return [chat for _, chat in sorted(waiting)]

    def _chat_ready(self, chat_id: str) -> float:
        ready = self._chat_next.get(chat_id, 0.0)
        recent = self._group_sent.get(chat_id)
        if recent is not None and len(recent) >= self.group_limit:
            ready = max(ready, recent[0] + GROUP_WINDOW)
        return ready

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` from now (a pause already longer is kept)."""
        self._paused_until = max(self._paused_until, self._monotonic() + max(0.0, seconds))

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._monotonic())

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: str) -> AsyncIterator[None]:
        """Wait for this chat's turn, then make the call inside the block."""
        ticket = await self._release(chat_id)
        try:
            yield
        finally:
            self._ended_call(ticket)

    async def acquire(self, chat_id: str) -> None:
        """Wait for this chat's turn within the global pace, then take it (the call counts as
        ended at once: use `slot` when the call's own duration should count)."""
        self._ended_call(await self._release(chat_id))

    async def _release(self, chat_id: str) -> int:
        async with self._turn:
            while True:
                now = self._monotonic()
                ready = max(self._next, self._paused_until, self._chat_ready(chat_id))
                earlier = self._releases - self.per_window  # the call `rate` releases ago
                if earlier >= 0:
                    if earlier >= self._folded:  # still under way: wait for it to end
                        self._ended.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._ended.wait(), ENDED_WAIT)
                        continue
                    ready = max(ready, self._latest_end[earlier] + WINDOW)
                if ready <= now:
                    return self._take(chat_id, now)
                # Re-checked after waking: a pause may have begun meanwhile.
                await self._sleep(ready - now)

    def _take(self, chat_id: str, now: float) -> int:
        on_grid = now - self._next <= LATE_FORGIVEN
        self._next = (self._next if on_grid else now) + self.interval
        self._chat_next[chat_id] = now + self.per_chat_interval
        if is_group_chat(chat_id):
            recent = self._group_sent.setdefault(chat_id, deque(maxlen=self.group_limit))
            recent.append(now)
        ticket = self._releases
        self._releases += 1
        if self._releases % PRUNE_EVERY == 0:
            self._prune(now)
        return ticket

    def _ended_call(self, ticket: int) -> None:
        self._ends[ticket] = self._monotonic()
        while self._folded in self._ends:
            ended = self._ends.pop(self._folded)
            before = self._latest_end.get(self._folded - 1, 0.0)
            self._latest_end[self._folded] = max(before, ended)
            self._latest_end.pop(self._folded - self.per_window - 1, None)
            self._folded += 1
        self._ended.set()

    def _prune(self, now: float) -> None:
        self._chat_next = {chat: at for chat, at in self._chat_next.items() if at > now}
        self._group_sent = {
            chat: recent
            for chat, recent in self._group_sent.items()
            if recent and recent[-1] + GROUP_WINDOW > now
        }
