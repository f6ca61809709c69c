"""Jobs stored by a version before the move to one package per feature keep working after it.

APScheduler stores a job as a pickled state naming its function ("scheduler.jobs:coupon_expiry");
those modules are gone, and a job whose reference no longer imports is dropped when loaded, with
its stored next run time. `retailbot init` (migration 0005) points the stored jobs at the new
modules, and sync_jobs updates a stored reference in place instead of replacing the job.
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from apscheduler.events import EVENT_JOB_ADDED, EVENT_JOB_MODIFIED, EVENT_JOB_REMOVED, JobEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.util import ref_to_obj

from bot.bootstrap import App, build_app, job_context
from bot.config import Settings
from domain.shared.clock import FixedClock
from domain.shared.policy import Policy
from scheduler.jobs.coupons import BIRTHDAY_JOB, EXPIRY_JOB, birthday_coupons
from scheduler.registry import job_specs
from scheduler.service import JOBSTORE_TABLE, build_scheduler, sync_jobs
from storage.engine import create_engine
from storage.jobs.scheduling import jobstore_engine_options, stored_next_runs, sync_url
from storage.migrate import alembic_config, is_current, upgrade
from tests.support.jobs import lead_until_job_ran

WAIT = 15.0

# What the version before the move stored, and where each function lives now.
OLD_REFERENCES = {
    "scheduler.jobs.coupons:birthday_coupons": "scheduler.jobs:birthday_coupons",
    "scheduler.jobs.coupons:coupon_expiry": "scheduler.jobs:coupon_expiry",
    "scheduler.jobs.tickets:ticket_followups": "scheduler.ticket_jobs:ticket_followups",
    "scheduler.jobs.surveys:survey_invitations": "scheduler.survey_jobs:survey_invitations",
    "scheduler.jobs.surveys:survey_weekly_summary": "scheduler.survey_jobs:survey_weekly_summary",
}
# The timetabled jobs that existed before the move (jobs added since had no old reference).
TIMETABLED = {
    spec.name: spec.ref
    for spec in job_specs(Policy())
    if spec.trigger is not None and spec.ref in OLD_REFERENCES
}

# Jobs added since the move: the scheduler adds them beside the old ones on start.
ADDED_SINCE = {
    spec.name: spec.ref
    for spec in job_specs(Policy())
    if spec.trigger is not None and spec.name not in TIMETABLED
}

# A job that is not ours to rename (a campaign someone scheduled): the migration leaves it alone.
CAMPAIGN_JOB = "campaign:12"
CAMPAIGN_REF = f"{__name__}:campaign_stand_in"

# The old name of a function kept importable, for the test of sync_jobs on its own.
legacy_birthday_coupons = birthday_coupons
LEGACY_REF = f"{__name__}:legacy_birthday_coupons"


async def campaign_stand_in() -> str:
    """Never runs: the schedulers in these tests stay paused."""
    return "not run"


def _store_engine(url: str) -> sa.Engine:
    """A synchronous engine on the job store, as APScheduler opens it."""
    return sa.create_engine(sync_url(url), **jobstore_engine_options(url))


def _stored_rows(url: str) -> dict[str, tuple[float | None, bytes]]:
    """Job id -> (next run time as a timestamp, pickled state), straight from the table."""
    engine = _store_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(f"SELECT id, next_run_time, job_state FROM {JOBSTORE_TABLE}")
            ).all()
    finally:
        engine.dispose()
    return {str(row.id): (row.next_run_time, bytes(row.job_state)) for row in rows}


def _stored_functions(url: str) -> dict[str, str]:
    return {
        job_id: pickle.loads(state)["func"] for job_id, (_, state) in _stored_rows(url).items()
    }


def _rename_stored_functions(url: str, renames: dict[str, str]) -> None:
    """Rewrite the pickled references the way the version before the move had written them."""
    rows = _stored_rows(url)
    engine = _store_engine(url)
    try:
        with engine.begin() as conn:
            for job_id, (_, state_bytes) in rows.items():
                state = pickle.loads(state_bytes)
                if state["func"] not in renames:
                    continue
                state["func"] = renames[state["func"]]
                conn.execute(
                    sa.text(f"UPDATE {JOBSTORE_TABLE} SET job_state = :state WHERE id = :id"),
                    {"state": pickle.dumps(state, pickle.HIGHEST_PROTOCOL), "id": job_id},
                )
    finally:
        engine.dispose()


def _whole_seconds(when: datetime) -> datetime:
    return when.replace(microsecond=0)


async def _store_jobs_as_before_the_move(url: str, next_runs: dict[str, datetime]) -> None:
    """A database at revision 0004 whose job store holds the jobs under their old references."""
    engine = create_engine(url)
    try:
        await upgrade(engine, "0004")
    finally:
        await engine.dispose()
    scheduler = build_scheduler(sync_url(url), jobstore_engine_options(url))
    scheduler.start(paused=True)
    try:
        for name, ref in TIMETABLED.items():
            trigger = next(s.trigger for s in job_specs(Policy()) if s.name == name)
            scheduler.add_job(ref, trigger, id=name, name=name, next_run_time=next_runs[name])
        scheduler.add_job(
            CAMPAIGN_REF,
            "date",
            run_date=next_runs[CAMPAIGN_JOB],
            id=CAMPAIGN_JOB,
            next_run_time=next_runs[CAMPAIGN_JOB],
        )
    finally:
        scheduler.shutdown(wait=False)
    _rename_stored_functions(url, OLD_REFERENCES)
    assert _stored_functions(url) == {
        **{name: OLD_REFERENCES[ref] for name, ref in TIMETABLED.items()},
        CAMPAIGN_JOB: CAMPAIGN_REF,
    }


def test_the_old_references_no_longer_import() -> None:
    """Why the migration is needed: APScheduler cannot load a job under any old reference."""
    assert set(OLD_REFERENCES) == set(TIMETABLED.values())
    for old in OLD_REFERENCES.values():
        with pytest.raises(LookupError):
            ref_to_obj(old)


async def test_stored_jobs_keep_their_next_run_times_across_the_move(
    database_url: str, clock: FixedClock
) -> None:
    now = _whole_seconds(datetime.now(UTC))
    # Every job was due while the bot was down, each at its own time.
    next_runs = {name: now - timedelta(hours=i + 1) for i, name in enumerate(TIMETABLED)}
    next_runs[CAMPAIGN_JOB] = now + timedelta(days=3)
    await _store_jobs_as_before_the_move(database_url, next_runs)
    campaign_before = _stored_rows(database_url)[CAMPAIGN_JOB]

    engine = create_engine(database_url)  # what `retailbot init` does
    try:
        await upgrade(engine)
        assert await is_current(engine)
        assert _stored_functions(database_url) == {**TIMETABLED, CAMPAIGN_JOB: CAMPAIGN_REF}
        assert _stored_rows(database_url)[CAMPAIGN_JOB] == campaign_before  # not touched
        assert await stored_next_runs(engine) == next_runs
    finally:
        await engine.dispose()

    # The scheduler starts as the service starts it: every job loads, none is replaced.
    app = await build_app(Settings(database_url=database_url), clock=clock)
    try:
        scheduler = build_scheduler(sync_url(database_url), jobstore_engine_options(database_url))
        scheduler.start(paused=True)
        try:
            sync_jobs(scheduler, job_context(app))
            jobs = {job.id: job for job in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)
        assert set(jobs) == set(next_runs) | set(ADDED_SINCE)
        old = {job_id: job for job_id, job in jobs.items() if job_id in next_runs}
        assert {job_id: job.func_ref for job_id, job in old.items()} == {
            **TIMETABLED,
            CAMPAIGN_JOB: CAMPAIGN_REF,
        }
        assert {job_id: job.next_run_time for job_id, job in old.items()} == next_runs
        stored = await stored_next_runs(app.engine)
        assert {job_id: stored[job_id] for job_id in next_runs} == next_runs
    finally:
        await app.close()


async def test_downgrading_gives_the_old_references_back(database_url: str) -> None:
    now = _whole_seconds(datetime.now(UTC))
    next_runs = {name: now + timedelta(hours=i + 1) for i, name in enumerate(TIMETABLED)}
    next_runs[CAMPAIGN_JOB] = now + timedelta(days=3)
    await _store_jobs_as_before_the_move(database_url, next_runs)
    before = _stored_functions(database_url)

    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0004"))
        assert _stored_functions(database_url) == before
        assert await stored_next_runs(engine) == next_runs
    finally:
        await engine.dispose()


async def test_a_daily_job_missed_before_the_move_runs_once_after_it(
    database_url: str, clock: FixedClock
) -> None:
    now = _whole_seconds(datetime.now(UTC))
    # coupon-expiry was due 2 hours ago, while the old version was down; nothing else is due.
    next_runs = {name: now + timedelta(days=1) for name in TIMETABLED}
    next_runs[EXPIRY_JOB] = now - timedelta(hours=2)
    next_runs[CAMPAIGN_JOB] = now + timedelta(days=3)
    await _store_jobs_as_before_the_move(database_url, next_runs)

    app = await build_app(Settings(database_url=database_url), clock=clock)  # migrates
    try:
        runs = await lead_until_job_ran(app, EXPIRY_JOB)
        assert runs[EXPIRY_JOB].runs == 1 and runs[EXPIRY_JOB].ok
        stored = await stored_next_runs(app.engine)
        later = stored[EXPIRY_JOB]
        assert later is not None and later > datetime.now(UTC)
        assert {k: stored[k] for k in next_runs if k != EXPIRY_JOB} == {
            k: v for k, v in next_runs.items() if k != EXPIRY_JOB
        }
        functions = _stored_functions(database_url)
        assert {k: functions[k] for k in next_runs} == {**TIMETABLED, CAMPAIGN_JOB: CAMPAIGN_REF}
        assert {k: functions[k] for k in ADDED_SINCE} == ADDED_SINCE
    finally:
        await app.close()


# -- sync_jobs on its own -------------------------------------------------------------------


def _memory_scheduler(events: list[tuple[int, str]]) -> Any:
    scheduler = AsyncIOScheduler(jobstores={"default": MemoryJobStore()}, timezone="UTC")

    def record(event: JobEvent) -> None:
        events.append((event.code, event.job_id))

    scheduler.add_listener(record, EVENT_JOB_ADDED | EVENT_JOB_MODIFIED | EVENT_JOB_REMOVED)
    return scheduler


async def test_sync_jobs_updates_a_moved_reference_in_place(app: App) -> None:
    context = job_context(app)
    events: list[tuple[int, str]] = []
    scheduler = _memory_scheduler(events)
    scheduler.start(paused=True)
    try:
        sync_jobs(scheduler, context)
        missed = _whole_seconds(datetime.now(UTC)) - timedelta(hours=2)
        # The birthday job is stored under another name of the same function, and was missed.
        scheduler.add_job(
            LEGACY_REF,
            scheduler.get_job(BIRTHDAY_JOB).trigger,
            id=BIRTHDAY_JOB,
            name=BIRTHDAY_JOB,
            next_run_time=missed,
            replace_existing=True,
        )
        kept = {job.id: job.next_run_time for job in scheduler.get_jobs()}
        events.clear()

        sync_jobs(scheduler, context)

        assert events == [(EVENT_JOB_MODIFIED, BIRTHDAY_JOB)]  # modified, not added again
        job = scheduler.get_job(BIRTHDAY_JOB)
        assert job.func_ref == TIMETABLED[BIRTHDAY_JOB]
        assert job.func is birthday_coupons
        assert job.next_run_time == missed
        assert {j.id: j.next_run_time for j in scheduler.get_jobs()} == kept

        events.clear()
        sync_jobs(scheduler, context)  # nothing left to do
        assert events == []
    finally:
        scheduler.shutdown(wait=False)


async def test_sync_jobs_stores_anew_a_job_whose_reference_imports_nothing(app: App) -> None:
    """A reference no migration knows would otherwise stop the service from ever starting."""
    url = app.settings.database_url
    scheduler = build_scheduler(sync_url(url), jobstore_engine_options(url))
    scheduler.start(paused=True)
    try:
        sync_jobs(scheduler, job_context(app))
    finally:
        scheduler.shutdown(wait=False)
    before = await stored_next_runs(app.engine)
    _rename_stored_functions(
        url, {TIMETABLED[EXPIRY_JOB]: "scheduler.no_such_module:coupon_expiry"}
    )

    scheduler = build_scheduler(sync_url(url), jobstore_engine_options(url))
    scheduler.start(paused=True)
    try:
        sync_jobs(scheduler, job_context(app))
        functions = {job.id: job.func_ref for job in scheduler.get_jobs()}
        assert functions == {**TIMETABLED, **ADDED_SINCE}
    finally:
        scheduler.shutdown(wait=False)
    after = await stored_next_runs(app.engine)
    assert after[EXPIRY_JOB] is not None  # stored anew: it fires on its trigger
    del before[EXPIRY_JOB], after[EXPIRY_JOB]
    assert after == before  # the other jobs kept their stored next run times
