"""A small progress meter on standard error for long commands (imports, the demo seed).

On a terminal it redraws one line with a carriage return; in a log or a pipe, where carriage
returns turn into clutter, it prints a plain line every few seconds instead. It needs nothing
beyond the standard library.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

BAR_WIDTH = 30
TTY_REDRAW_SECONDS = 0.1  # redrawing faster than the eye reads only costs time
LOG_LINE_SECONDS = 5.0


class Progress:
    """Counts done units out of `total` (None when unknown) under a label.

    Use as a context manager, or call `finish()`; a disabled meter does nothing, so callers
    need no `if`. The clock is injectable so tests need not sleep.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total if total and total > 0 else None
        self.enabled = enabled
        # Looked up now, not at import, so a redirected stderr (tests, pytest capsys) is used.
        self.stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self.done = 0
        self._started = self._now()
        self._last_shown: float | None = None
        self._tty = _is_tty(self.stream)
        self._finished = False

    def _now(self) -> float:
        return self._clock()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish()

    def advance(self, count: int = 1) -> None:
        """Add `count` done units and show the news when it is time to."""
        self.done += count
        if not self.enabled:
            return
        now = self._now()
        interval = TTY_REDRAW_SECONDS if self._tty else LOG_LINE_SECONDS
        if self._last_shown is None and not self._tty:
            self._last_shown = now  # a log line at 0 % says nothing; wait for real progress
            return
        if self._last_shown is not None and now - self._last_shown < interval:
            return
        self._last_shown = now
        self._show(now)

    def finish(self) -> None:
        """Show the final figures once; later calls do nothing."""
        if self._finished:
            return
        self._finished = True
        if not self.enabled:
            return
        self._show(self._now(), final=True)

    def line(self, now: float | None = None) -> str:
        """The text of the meter as it stands."""
        elapsed = max(0.0, (self._now() if now is None else now) - self._started)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total:
            share = min(1.0, self.done / self.total)
            filled = int(share * BAR_WIDTH)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            text = f"{self.label} [{bar}] {share:4.0%} {self.done:,}/{self.total:,}"
        else:
            text = f"{self.label} {self.done:,}"
        return f"{text} ({rate:,.0f}/s, {elapsed:.1f} s)"

    def _show(self, now: float, final: bool = False) -> None:
        if self._tty:
            end = "\n" if final else ""
            self.stream.write("\r" + self.line(now) + "\x1b[K" + end)
        else:
            self.stream.write(self.line(now) + "\n")
        self.stream.flush()


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or exotic stream is not a terminal
        return False
