"""The scheduler service: persistent jobs with fixed ids, one leader, `jobs list` and `run`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.bootstrap import App, build_app, build_delivery, build_sender, job_context
from bot.config import Settings
from domain.shared.clock import FixedClock
from scheduler.jobs.coupons import BIRTHDAY_JOB, EXPIRY_JOB
from scheduler.jobs.surveys import INVITATIONS_JOB, WEEKLY_JOB
from scheduler.jobs.tickets import TICKET_JOB
from scheduler.registry import job_specs
from scheduler.service import build_scheduler, sync_jobs
from storage.jobs.scheduling import (
    FileLeadership,
    PostgresLeadership,
    jobstore_engine_options,
    stored_next_runs,
    sync_url,
)
from tests.support.coupons import FakeMessenger, add_member, outbox_rows
from tests.support.jobs import lead_until_job_ran
from tests.support.paths import ROOT

WAIT = 15.0


async def _service_runs(app: App) -> dict[str, object]:
    service = build_delivery(app, build_sender(app, FakeMessenger(), poll_interval=0.05))
    service.check_seconds = 0.2
    async with service:
        await asyncio.wait_for(service.leading.wait(), WAIT)
        stored = await stored_next_runs(app.engine)
    return dict(stored)


async def test_the_jobs_are_stored_under_fixed_ids_and_kept_across_restarts(any_app: App) -> None:
    first = await _service_runs(any_app)
    timetabled = {spec.name for spec in job_specs(any_app.policy) if spec.trigger is not None}
    assert {BIRTHDAY_JOB, EXPIRY_JOB, TICKET_JOB, INVITATIONS_JOB, WEEKLY_JOB} <= timetabled
    assert set(first) == timetabled
    assert all(when is not None for when in first.values())
    again = await _service_runs(any_app)
    assert again == first  # the stored jobs were kept, not replaced


async def test_the_sender_runs_inside_the_service(app: App) -> None:
    await add_member(app, "1", chat=501)
    messenger = FakeMessenger()
    from domain.messaging.model import MessageKind, OutboxMessage
    from domain.shared.outbox import queue_message

    async with app.uow_factory() as uow:
        await queue_message(
            uow,
            OutboxMessage("hello", "501", MessageKind.SERVICE, member_id=1, text="Hello!"),
            app.clock.now(),
        )
        await uow.commit()
    service = build_delivery(app, build_sender(app, messenger, poll_interval=0.05))
    async with service:
        await asyncio.wait_for(service.leading.wait(), WAIT)
        for _ in range(100):
            if messenger.sent:
                break
            await asyncio.sleep(0.05)
    assert [s.text for s in messenger.sent] == ["Hello!"]
    assert [r.status for r in await outbox_rows(app)] == ["sent"]


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(int(WAIT / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {WAIT} s")


async def test_only_one_process_leads_on_postgresql(postgres_url: str, clock: FixedClock) -> None:
    apps = [await build_app(Settings(database_url=postgres_url), clock=clock) for _ in range(2)]
    try:
        one, two = (PostgresLeadership(app.engine) for app in apps)
        assert await one.try_acquire()
        assert not await two.try_acquire()
        assert await one.still_held()
        await one.release()
        assert await two.try_acquire()
        await two.release()

        services = [build_delivery(app, None) for app in apps]
        for service in services:
            service.retry_seconds = service.check_seconds = 0.2
        for service in services:
            await service.__aenter__()
        try:
            await _until(lambda: any(s.leading.is_set() for s in services))
            await asyncio.sleep(1.0)  # the other keeps asking, and keeps being refused
            leaders = [s for s in services if s.leading.is_set()]
            assert len(leaders) == 1
            follower = next(s for s in services if s is not leaders[0])
            # The leader stops (or dies): the other takes over.
            await leaders[0].__aexit__(None, None, None)
            await _until(follower.leading.is_set)
        finally:
            for service in services:
                await service.__aexit__(None, None, None)
    finally:
        for app in apps:
            await app.close()


async def test_one_leader_per_sqlite_file(tmp_path: Path) -> None:
    lock = tmp_path / "shop.db.leader.lock"
    one, two = FileLeadership(lock), FileLeadership(lock)
    assert await one.try_acquire()
    assert not await two.try_acquire()
    await one.release()
    assert await two.try_acquire()
    await two.release()


def test_the_job_store_gets_a_synchronous_url() -> None:
    assert sync_url("sqlite+aiosqlite:///shop.db") == "sqlite:///shop.db"
    assert (
        sync_url("postgresql://u:p@127.0.0.1:5432/shop")
        == "postgresql+psycopg://u:p@127.0.0.1:5432/shop"
    )
    assert sync_url("postgresql+asyncpg://u@127.0.0.1/shop").startswith("postgresql+psycopg://")


def _retailbot(*args: str, database: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--database", database],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


def test_jobs_run_and_list_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/jobs.db"
    listed = _retailbot("jobs", "list", database=url)
    assert listed.returncode == 0, listed.stderr
    assert "birthday-coupons" in listed.stdout and "last run: never" in listed.stdout

    ran = _retailbot("jobs", "run", "coupon-expiry", database=url)
    assert ran.returncode == 0, ran.stderr
    assert "coupon-expiry: 0 coupons expired, 0 reminders queued" in ran.stdout

    listed = _retailbot("jobs", "list", database=url)
    section = listed.stdout.split("coupon-expiry", 1)[1].split("outbox-sender", 1)[0]
    assert "-> ok (1 run(s) so far)" in section and "0 reminders queued" in section

    unknown = _retailbot("jobs", "run", "no-such-job", database=url)
    assert unknown.returncode == 2 and "there is no job 'no-such-job'" in unknown.stderr
    no_token = _retailbot("jobs", "run", "outbox-sender", database=url)
    assert no_token.returncode == 2 and "BOT_TOKEN" in no_token.stderr


def test_staff_and_coupons_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/shop.db"

    async def seed() -> None:
        app = await build_app(Settings(database_url=url))
        from domain.members.model import Store

        async with app.uow_factory() as uow:
            await uow.stores.add(Store("SH01", "Shanghai", "Asia/Shanghai"))
            await uow.commit()
        await add_member(app, "100001")
        await app.close()

    asyncio.run(seed())
    added = _retailbot("staff", "add", "5001", "--role", "agent", "--name", "Wang",
                       "--store", "sh01", database=url)
    assert added.returncode == 0 and "agent at SH01" in added.stdout, added.stderr
    bad_role = _retailbot("staff", "add", "5002", "--role", "boss", database=url)
    assert bad_role.returncode == 2 and "agent, manager, admin" in bad_role.stderr

    issued = _retailbot("coupon", "issue", "--member", "100001", "--template", "ten_off",
                        "--source", "campaign:12", database=url)
    assert issued.returncode == 0, issued.stderr
    code = issued.stdout.split()[2]
    refused = _retailbot("coupon", "redeem", code, "--store", "SH01", "--spend", "20",
                         database=url)
    assert refused.returncode == 2
    assert "needs a purchase of at least 50.00" in refused.stderr
    done = _retailbot("coupon", "redeem", code.lower(), "--store", "SH01", "--member", "100001",
                      database=url)
    assert done.returncode == 0 and f"redeemed {code} at SH01" in done.stdout, done.stderr
    again = _retailbot("coupon", "redeem", code, "--store", "SH01", database=url)
    assert again.returncode == 2 and "already redeemed" in again.stderr
    shown = _retailbot("coupon", "show", code, database=url)
    assert "status: redeemed" in shown.stdout and "by cli" in shown.stdout


async def test_a_daily_job_missed_while_down_runs_once_at_start_up(app: App) -> None:
    url = app.settings.database_url
    # An earlier run of the bot stored the jobs; coupon-expiry was due 2 hours ago (and
    # yesterday too), while the bot was down.
    scheduler = build_scheduler(sync_url(url), jobstore_engine_options(url))
    scheduler.start(paused=True)
    sync_jobs(scheduler, job_context(app))
    missed = datetime.now(UTC) - timedelta(hours=2)
    scheduler.modify_job(EXPIRY_JOB, next_run_time=missed)
    scheduler.shutdown(wait=False)

    runs = await lead_until_job_ran(app, EXPIRY_JOB)
    assert runs[EXPIRY_JOB].runs == 1 and runs[EXPIRY_JOB].ok  # coalesced: once, not twice
    stored = await stored_next_runs(app.engine)
    later = stored[EXPIRY_JOB]
    assert later is not None and later > datetime.now(UTC)
