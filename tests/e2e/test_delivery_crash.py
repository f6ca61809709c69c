"""A sender killed mid-way (SIGKILL) and restarted: every message once, or reported `unknown`.

The sender runs as `retailbot jobs run outbox-sender` in a child process, talking over HTTP to
the Bot API stand-in served by this test process. 2,000 messages to 2,000 chats; the child is
killed after some hundreds went out, then started again. Afterwards each row is `sent` (and its
chat got it exactly once) or `unknown` (it was in flight: its chat got it at most once), there
are no more unknowns than rows the sender keeps claimed (its claim window), and no chat got
anything twice.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from bot.bootstrap import build_app
from bot.config import Settings
from domain.messaging.model import MessageKind, OutboxMessage
from domain.shared.outbox import queue_message
from scheduler.sender import claim_window
from storage.messaging.tables import outbox
from tests.e2e.conftest import child_environment
from tests.support.apps import running_app
from tests.support.paths import ROOT
from tests.support.standin import BotApiStandIn

MESSAGES = 2000
FIRST_CHAT = 300_000
KILL_AFTER = 600  # messages the stand-in has received before the kill
MAX_IN_FLIGHT = claim_window(250)  # rows the sender keeps claimed at most (rate 250/s)
POLICY = """
[delivery]
rate_per_second = 250
quiet_hours = ""
"""


async def _seed(url: str, standin: BotApiStandIn) -> None:
    async with running_app(Settings(database_url=url)) as app:
        now = app.clock.now()
        async with app.uow_factory() as uow:
            for i in range(MESSAGES):
                chat = FIRST_CHAT + i
                standin.user(chat, f"P{i}", language_code="en")
                await queue_message(
                    uow,
                    OutboxMessage(f"crash:{i}", str(chat), MessageKind.SERVICE, text=f"msg {i}"),
                    now,
                )
            await uow.commit()


async def _start_sender(
    url: str, config: Path, standin: BotApiStandIn
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "jobs", "run", "outbox-sender",
        "--database", url, "--config", str(config),
        env=child_environment(standin, "aiogram"), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


def _delivered(standin: BotApiStandIn) -> int:
    return sum(1 for call in standin.calls if call.method == "sendmessage" and call.status == 200)


async def _statuses(url: str) -> Counter[str]:
    app = await build_app(Settings(database_url=url), migrate=False)
    try:
        async with app.engine.connect() as conn:
            rows = await conn.execute(
                select(outbox.c.status, func.count()).group_by(outbox.c.status)
            )
            return Counter({status: int(n) for status, n in rows})
    finally:
        await app.close()


async def test_a_killed_sender_never_sends_twice_and_loses_nothing(
    standin: BotApiStandIn, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/crash.db"
    config = tmp_path / "retailbot.toml"
    config.write_text(POLICY, encoding="utf-8")
    await _seed(url, standin)
    started = time.monotonic()

    child = await _start_sender(url, config, standin)
    try:
        deadline = time.monotonic() + 30
        while _delivered(standin) < KILL_AFTER and time.monotonic() < deadline:
            if child.returncode is not None:
                break
            await asyncio.sleep(0.02)
        assert _delivered(standin) >= KILL_AFTER, "the sender did not get going in time"
        child.kill()  # SIGKILL: no clean-up of any kind
    finally:
        if child.returncode is None:
            child.kill()
        await asyncio.wait_for(child.wait(), 10)
    before_restart = await _statuses(url)
    assert before_restart["sent"] < MESSAGES, "killed too late to prove anything"
    in_flight = before_restart["sending"]
    assert in_flight <= MAX_IN_FLIGHT, before_restart

    again = await _start_sender(url, config, standin)
    out, err = await asyncio.wait_for(again.communicate(), 40)
    assert again.returncode == 0, err.decode()
    assert "unknown" in out.decode()

    after = await _statuses(url)
    assert set(after) <= {"sent", "unknown"}, after
    assert after["unknown"] == in_flight
    assert after["sent"] + after["unknown"] == MESSAGES

    per_chat = Counter(
        call.params["chat_id"]
        for call in standin.calls
        if call.method == "sendmessage" and call.status == 200
    )
    assert max(per_chat.values()) == 1, "a chat got a message twice"
    assert len(per_chat) >= after["sent"]  # every sent row reached its chat
    assert len(per_chat) <= MESSAGES
    assert time.monotonic() - started < 60
    print(
        f"killed with {before_restart['sent']} sent and {in_flight} in flight; after the "
        f"restart {after['sent']} sent, {after['unknown']} unknown, of which "
        f"{len(per_chat) - after['sent']} had reached their chat"
    )
