"""The progress meter redraws one line on a terminal and writes plain lines into a log."""

from __future__ import annotations

import io

from bot.cli.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Ticking:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_on_a_terminal_the_meter_redraws_one_line_and_ends_it() -> None:
    screen, clock = Terminal(), Ticking()
    with Progress("importing members.csv", 1000, stream=screen, clock=clock) as meter:
        for _ in range(10):
            clock.now += 0.5
            meter.advance(100)
    text = screen.getvalue()
    assert text.count("\r") == 11  # ten redraws and the final one
    assert text.endswith("100% 1,000/1,000 (200/s, 5.0 s)\x1b[K\n")  # erase to end of line
    assert "[" + "#" * 30 + "]" in text


def test_redraws_are_limited_to_a_few_per_second() -> None:
    screen, clock = Terminal(), Ticking()
    meter = Progress("x", 10_000, stream=screen, clock=clock)
    for _ in range(1000):
        clock.now += 0.001
        meter.advance(1)
    assert screen.getvalue().count("\r") <= 11


def test_in_a_log_the_meter_writes_a_plain_line_every_few_seconds() -> None:
    log, clock = io.StringIO(), Ticking()
    meter = Progress("importing transactions.csv", 100, stream=log, clock=clock)
    for _ in range(20):
        clock.now += 1.0
        meter.advance(5)
    meter.finish()
    meter.finish()  # finishing twice prints once
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert 3 <= len(lines) <= 5
    assert lines[-1].startswith("importing transactions.csv [") and "100/100" in lines[-1]


def test_a_meter_with_an_unknown_total_counts_without_a_bar() -> None:
    log, clock = io.StringIO(), Ticking()
    with Progress("reading", None, stream=log, clock=clock) as meter:
        clock.now += 2
        meter.advance(42)
    assert log.getvalue() == "reading 42 (21/s, 2.0 s)\n"


def test_a_disabled_meter_says_nothing() -> None:
    log = io.StringIO()
    with Progress("quiet", 10, enabled=False, stream=log) as meter:
        meter.advance(10)
    assert log.getvalue() == ""
    assert meter.done == 10
