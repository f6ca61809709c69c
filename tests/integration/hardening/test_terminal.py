"""The terminal chat: line editing at a real terminal, odd digits as button numbers, and
member text with escape codes shown to staff safely."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from bot.bootstrap import App
from bot.terminal import TerminalChat
from domain.tickets.services import add_member_message, open_ticket
from tests.support.coupons import add_member, seed_stores
from tests.support.paths import ROOT
from tests.support.tickets import MANAGER, seed_desk

READ_LIMIT = 30.0  # seconds a pty test may wait for the chat in all


def _read_until(fd: int, wanted: bytes, deadline: float) -> bytes:
    seen = b""
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_arrow_keys_at_a_real_terminal_edit_the_line_instead_of_typing_escape_codes(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update({"PYTHONPATH": str(ROOT), "TERM": "xterm"})
    url = f"sqlite+aiosqlite:///{tmp_path}/chat.db"
    controller, terminal = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat", "--as", "13800138000", "--database", url],
        stdin=terminal, stdout=terminal, stderr=terminal, env=env, cwd=tmp_path,
    )
    os.close(terminal)
    deadline = time.monotonic() + READ_LIMIT
    try:
        assert b"> " in _read_until(controller, b"> ", deadline)
        # ":qit", two steps left, "u": with line editing the line is ":quit" and the chat ends;
        # without it, the escape codes would be sent on as text and the chat would answer.
        os.write(controller, b":qit\x1b[D\x1b[Du\r")
        tail = _read_until(controller, b"\x00never", min(deadline, time.monotonic() + 5))
        assert child.wait(timeout=max(1.0, deadline - time.monotonic())) == 0, tail
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        os.close(controller)


async def test_superscript_and_circled_digits_after_language_are_text_not_a_crash(
    app: App,
) -> None:
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai)
    out = io.StringIO()
    chat = TerminalChat(app.conversation, member.phone or "", out=out)
    await chat.send("/language")
    for odd in ("²", "①", "٤", "9" * 40, "0"):
        replies = await chat.send(odd)
        assert all(r.key != "error.unexpected" for r in replies), odd
    assert "Traceback" not in out.getvalue()


async def test_member_text_with_escape_codes_is_shown_to_staff_at_a_terminal_safely(
    app: App,
) -> None:
    desk = await seed_desk(app)
    assert desk.member.id is not None
    # Written straight to the database, as rows from before the edge cleaning might be.
    async with app.uow_factory() as uow:
        ticket = await open_ticket(
            uow, app.policy, app.conversation.deps.desk, desk.member, category="quality",
            description="sour milk \x1bc\x1b]0;owned\x07 at the till", now=app.clock.now(),
        )
        assert ticket.id is not None
        await add_member_message(
            uow, app.policy, app.conversation.deps.desk, ticket.id, desk.member,
            text="still sour \x1b[2J\x1b[H wiped", now=app.clock.now(),
        )
        await uow.commit()
    out = io.StringIO()
    staff = TerminalChat(app.conversation, phone="", out=out, staff_id=str(MANAGER))
    await staff.send(f"/ticket {ticket.id}")
    shown = out.getvalue()
    assert "still sour" in shown
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b" in shown
