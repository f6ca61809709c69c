"""`retailbot run` as operators start it: the adapter, the scheduler and the sender together.

The bot runs in a child process against the Bot API stand-in served by this test: a queued
outbox message is delivered, a person is answered, the jobs are in the persistent store under
their fixed ids, and SIGTERM stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path

from bot.config import Settings
from domain.members.model import ChatUser, Member
from domain.messaging.model import MessageKind, OutboxMessage
from domain.shared.outbox import queue_message
from domain.shared.policy import Policy
from scheduler.registry import job_specs
from tests.e2e.conftest import child_environment
from tests.support.apps import running_app
from tests.support.standin import BotApiStandIn

LINKED = 5101
NEWCOMER = 5102


async def _seed(url: str) -> None:
    async with running_app(Settings(database_url=url)) as app:
        now = app.clock.now()
        async with app.uow_factory() as uow:
            member = await uow.members.add(Member("100001", "Li Lei", "+8613800138000", now))
            chat = await uow.chat_users.save(
                ChatUser("telegram", str(LINKED), str(LINKED), language="en",
                         member_id=member.id)
            )
            await queue_message(
                uow,
                OutboxMessage("run:hello", str(LINKED), MessageKind.SERVICE,
                              member_id=member.id, chat_user_id=chat.id,
                              text="Hello from the outbox"),
                now,
            )
            await uow.commit()


async def test_run_serves_chats_delivers_the_outbox_and_stops_on_sigterm(
    standin: BotApiStandIn, tmp_path: Path, engine: str
) -> None:
    db = tmp_path / "run.db"
    url = f"sqlite+aiosqlite:///{db}"
    await _seed(url)
    standin.user(LINKED, "Li", language_code="en")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--database", url,
        env=child_environment(standin, engine), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        (hello,) = await standin.wait_for_messages(LINKED, 1, timeout=30)
        assert hello.text == "Hello from the outbox"

        newcomer = standin.user(NEWCOMER, "Sam", language_code="en")
        standin.send_text(newcomer, "/start")
        welcome = await standin.wait_for_messages(NEWCOMER, 2, timeout=15)
        assert welcome[1].requests_contact

        with sqlite3.connect(db) as conn:
            jobs = {row[0] for row in conn.execute("SELECT id FROM apscheduler_jobs")}
        # The sender records a batch's results just after its sends: on a busy machine the
        # stand-in can have the message a moment before the row says so.
        status = await _outbox_status_once_settled(db)
        timetabled = {spec.name for spec in job_specs(Policy()) if spec.trigger is not None}
        assert {"birthday-coupons", "coupon-expiry", "ticket-followups"} <= timetabled
        assert jobs == timetabled
        assert status == "sent"
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(child.communicate(), 30)
    assert child.returncode == 0, err.decode()[-2000:]
    assert "Traceback" not in err.decode(), err.decode()[-2000:]
    assert "leads: running the scheduler and the outbox sender" in err.decode()


async def _outbox_status_once_settled(db: Path) -> str:
    """The only outbox row's status once it is no longer `sending` (10 s at most)."""
    status = "sending"
    for _ in range(100):
        with sqlite3.connect(db) as conn:
            status = conn.execute("SELECT status FROM outbox").fetchone()[0]
        if status != "sending":
            break
        await asyncio.sleep(0.1)
    return str(status)
