"""The scheduler's job store never freezes the bot, and its errors never stop the scheduler.

APScheduler's job store is synchronous. Run on the event loop, on SQLite, it waited for the
file's write lock while the update holding that lock needed the loop to reach its COMMIT: both
froze for the store's busy timeout, and the error then raised out of the wake-up stopped the
scheduler's wake-ups for good. The scheduler now does a wake-up's job store work in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.bootstrap import App, build_delivery
from scheduler.registry import job_specs
from scheduler.service import JOBSTORE_TABLE, build_scheduler
from storage.jobs.scheduling import jobstore_engine_options, stored_next_runs, sync_url

WAIT = 15.0  # seconds; every wait here is bounded
STEP = 0.02
TICK = 0.001

PROBE_JOB = "lock-probe"
PROBE_REF = f"{__name__}:probe"
probe_runs: list[datetime] = []


async def probe() -> None:
    probe_runs.append(datetime.now(UTC))


async def _until(condition: Any) -> bool:
    for _ in range(int(WAIT / STEP)):
        if condition():
            return True
        await asyncio.sleep(STEP)
    return bool(condition())


def _store_engine(scheduler: Any) -> sa.Engine:
    engine: sa.Engine = scheduler._lookup_jobstore("default").engine
    return engine


def _add_due_probe(scheduler: Any) -> datetime:
    """The probe job, due a minute ago, next due in an hour; returns when it was due."""
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    scheduler.add_job(
        PROBE_REF, "interval", hours=1, start_date=due, id=PROBE_JOB, name=PROBE_JOB,
        next_run_time=due,
    )
    return due


async def _stored_after(app: App, due: datetime) -> bool:
    stored = (await stored_next_runs(app.engine)).get(PROBE_JOB)
    return stored is not None and stored > due + timedelta(minutes=30)


async def test_a_wake_up_waits_for_a_write_transaction_without_freezing_the_loop(app: App) -> None:
    probe_runs.clear()
    url = app.settings.database_url
    scheduler = build_scheduler(sync_url(url), jobstore_engine_options(url))
    scheduler.start(paused=True)
    updating, updated = threading.Event(), threading.Event()

    def starts(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updating.set()  # the job store starts storing the job's next run time

    def ends(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updated.set()

    def fails(context: Any) -> None:
        if str(context.statement).lstrip().upper().startswith("UPDATE"):
            updated.set()

    store_engine = _store_engine(scheduler)
    sa.event.listen(store_engine, "before_cursor_execute", starts)
    sa.event.listen(store_engine, "after_cursor_execute", ends)
    sa.event.listen(store_engine, "handle_error", fails)
    progress = 0

    async def elsewhere() -> None:  # another coroutine: a member's update, say
        nonlocal progress
        for _ in range(int(WAIT / TICK)):
            progress += 1
            await asyncio.sleep(TICK)

    ticker: asyncio.Task[None] | None = None
    try:
        due = _add_due_probe(scheduler)
        async with app.engine.begin() as conn:  # an update's write transaction
            await conn.execute(sa.text("CREATE TABLE lock_probe (n INTEGER)"))
            await conn.execute(sa.text("INSERT INTO lock_probe (n) VALUES (1)"))  # holds the lock
            scheduler.resume()  # the probe is due: the wake-up must store its next run time
            ticker = asyncio.create_task(elsewhere())
            for _ in range(int(WAIT / STEP)):
                if updating.is_set():
                    break
                await asyncio.sleep(STEP)
            # The job store is waiting for this transaction's lock, and the loop still runs.
            assert updating.is_set()
            before = progress
            for _ in range(5):
                await asyncio.sleep(STEP)
            assert progress > before
            assert not updated.is_set()  # still waiting: it neither gave up nor froze the loop
            assert probe_runs == []  # it starts once its next run time is stored, not before
        # The transaction committed; then the wake-up stored the next run time and ran the job.
        async with app.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT n FROM lock_probe")) == 1
        assert await _until(lambda: len(probe_runs) == 1)
        assert await _stored_after(app, due)
    finally:
        if ticker is not None:
            ticker.cancel()
        await scheduler.aclose()
    assert len(probe_runs) == 1


async def test_a_job_store_error_is_retried_and_the_job_runs_once(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    probe_runs.clear()
    url = app.settings.database_url
    # The store gives up on the lock almost at once here, so the wake-up fails while it is held.
    scheduler = build_scheduler(sync_url(url), {"connect_args": {"timeout": 0.05}})
    scheduler.jobstore_retry_interval = 0.1
    scheduler.start(paused=True)
    caplog.set_level(logging.WARNING, logger="scheduler.service")

    def failed() -> bool:
        return any("failed during a wake-up" in r.getMessage() for r in caplog.records)

    try:
        due = _add_due_probe(scheduler)
        async with app.engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE lock_probe (n INTEGER)"))
            await conn.execute(sa.text("INSERT INTO lock_probe (n) VALUES (1)"))
            scheduler.resume()
            assert await _until(failed)  # the wake-up could not store the next run time...
            assert probe_runs == []  # ...so the job did not start
        # Later wake-ups still happen: the job runs, once, and its next run time is stored.
        assert await _until(lambda: len(probe_runs) == 1)
        assert await _stored_after(app, due)
        for _ in range(10):  # a few more wake-ups' worth: it does not run again for that time
            await asyncio.sleep(STEP)
        assert len(probe_runs) == 1

        # And the scheduler keeps serving: the job due again runs again.
        scheduler.modify_job(PROBE_JOB, next_run_time=datetime.now(UTC) - timedelta(seconds=1))
        assert await _until(lambda: len(probe_runs) == 2)
    finally:
        await scheduler.aclose()
    records = [r for r in caplog.records if "failed during a wake-up" in r.getMessage()]
    # The driver's words only: no statement, no parameters (a job's arguments) in the log.
    assert records and all("database is locked" in r.getMessage() for r in records)
    assert not any("[SQL" in r.getMessage() or "parameters" in r.getMessage() for r in records)


async def test_the_service_starts_its_scheduler_while_an_update_holds_the_lock(app: App) -> None:
    """Opening the job store and bringing its jobs up to date wait off the loop too."""
    writing, written = threading.Event(), threading.Event()

    def is_store_write(statement: str) -> bool:
        words = statement.lstrip().upper()
        return JOBSTORE_TABLE.upper() in words and words.startswith(("CREATE", "INSERT"))

    def starts(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if is_store_write(statement):
            writing.set()

    def ends(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if is_store_write(statement):
            written.set()

    def fails(context: Any) -> None:
        if is_store_write(str(context.statement)):
            written.set()

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", starts),
        ("after_cursor_execute", ends),
        ("handle_error", fails),
    ]
    for name, listener in listeners:  # on every engine: the service opens its own
        sa.event.listen(sa.Engine, name, listener)
    service = build_delivery(app, None)
    service.check_seconds = 0.2
    entered = False
    try:
        async with app.engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE lock_probe (n INTEGER)"))
            await conn.execute(sa.text("INSERT INTO lock_probe (n) VALUES (1)"))  # holds the lock
            await service.__aenter__()
            entered = True
            assert await _until(writing.is_set)  # the job store waits for the lock...
            for _ in range(5):
                await asyncio.sleep(STEP)
            assert not written.is_set()  # ...still, while this coroutine runs
            assert not service.leading.is_set()
        assert await _until(service.leading.is_set)
        stored = await stored_next_runs(app.engine)
    finally:
        if entered:
            await service.__aexit__(None, None, None)
        for name, listener in listeners:
            sa.event.remove(sa.Engine, name, listener)
    timetabled = {spec.name for spec in job_specs(app.policy) if spec.trigger is not None}
    assert set(stored) == timetabled
