"""`retailbot chat` survives 10,000 fuzzed lines: random Unicode, control characters, huge lines,
odd commands and odd button numbers give zero tracebacks and zero apologies.

In-process against the terminal chat (the same TerminalChat the command runs), on SQLite and
PostgreSQL, with a fixed seed so a failure replays exactly. Bounded: a hard time limit fails the
test rather than letting it hang.
"""

from __future__ import annotations

import asyncio
import io
import logging
import random

import pytest

from bot.bootstrap import App
from bot.terminal import TerminalChat
from tests.support.coupons import add_member, seed_stores

LINES = 10_000
SEED = 20261129
CHATS = 8  # the lines are shared out between this many people typing at the same time
TIME_LIMIT = 240.0  # seconds for the whole run: fails rather than hangs
COMMANDS = (
    "/start", "/points", "/coupons", "/profile", "/language", "/stop", "/complaint", "/tickets",
    "/help", "/exchange", "/ticket", "/reply", "/queue", "/redeem", "/member", "/join",
    "/start store_SH01", "/start ²", "/points@other_bot", "/", "//", "/" + "x" * 300,
)
ODD_NUMBERS = ("²", "①", "٤٢", "0", "-1", "9" * 30, "1", "2", "3", "4", "5", "99", "１")
CONTROL = "".join(chr(c) for c in range(32)) + "\x7f\x85\u202e\u2066\ufeff"


def _random_text(rng: random.Random) -> str:
    length = rng.choice((1, 3, 10, 40, 200))
    alphabet = rng.choice(("ascii", "cjk", "any", "control", "surrogate", "emoji"))
    chars = []
    for _ in range(length):
        if alphabet == "ascii":
            chars.append(chr(rng.randrange(32, 127)))
        elif alphabet == "cjk":
            chars.append(chr(rng.randrange(0x4E00, 0x9FFF)))
        elif alphabet == "control":
            chars.append(rng.choice(CONTROL + "ab 积分"))
        elif alphabet == "surrogate":
            chars.append(chr(rng.randrange(0xD800, 0xE000)) if rng.random() < 0.3 else "x")
        elif alphabet == "emoji":
            chars.append(chr(rng.randrange(0x1F300, 0x1FAFF)))
        else:
            chars.append(chr(rng.randrange(1, 0x110000)))
    return "".join(chars)


def fuzzed_lines(seed: int, count: int) -> list[str]:
    """The same `count` lines for the same seed."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.25:
            line = rng.choice(ODD_NUMBERS)
        elif roll < 0.45:
            line = rng.choice(COMMANDS) + rng.choice(("", " ", " " + rng.choice(ODD_NUMBERS),
                                                       " " + _random_text(rng)))
        elif roll < 0.5:
            line = rng.choice((":contact", ":sticker", "0", "my points", "积分", "投诉 牛奶坏了"))
        elif roll < 0.52:
            line = _random_text(rng) * rng.choice((50, 500))  # huge lines
        else:
            line = _random_text(rng)
        lines.append(line.replace("\n", " "))  # one typed line is one message
    return lines


async def test_the_terminal_chat_survives_ten_thousand_fuzzed_lines(
    any_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    shop = await seed_stores(any_app)
    out = io.StringIO()
    chats = []
    for number in range(1, CHATS + 1):  # several people at once, as on a busy evening
        member = await add_member(any_app, str(number), store=shop.shanghai, points=300)
        chats.append(TerminalChat(any_app.conversation, member.phone or "", out=out))
    caplog.set_level(logging.WARNING)
    apologies = []
    lines = fuzzed_lines(SEED, LINES)

    async def run(chat: TerminalChat, mine: list[str]) -> None:
        for line in mine:
            replies = await chat.send(line)
            if any(r.key == "error.unexpected" for r in replies):
                apologies.append(line[:80])

    await asyncio.wait_for(
        asyncio.gather(*(run(chat, lines[i::CHATS]) for i, chat in enumerate(chats))),
        TIME_LIMIT,
    )
    assert apologies == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "Traceback" not in out.getvalue()
    assert "\x1b" not in out.getvalue()  # nothing typed comes back as a live escape code
