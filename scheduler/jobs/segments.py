"""The scheduled jobs of segments: the nightly refresh and the staff's weekly digest of moves.

`segments-refresh` recomputes every member's RFM scores, named segment, lifecycle stage and
churn figures from the purchase statistics (domain.segments.services explains the steps);
`segments-weekly-digest` posts how many members moved between segments in the last week to
the staff group, once per week. Both also run on demand (`retailbot jobs run NAME`), and the
refresh as `retailbot segments refresh`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from domain.segments.services import (
    compute_refresh,
    finish_refresh,
    load_stats,
    move_window,
    queue_weekly_digest,
    record_changes,
    write_rows,
)
from scheduler.batches import in_transaction
from scheduler.registry import JobContext, JobSpec, run_recorded

if TYPE_CHECKING:
    from datetime import datetime

    from domain.segments.services import RefreshPlan
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork, UnitOfWorkFactory

REFRESH_JOB = "segments-refresh"
DIGEST_JOB = "segments-weekly-digest"
REFRESH_AT = (3, 30)  # every night, after the POS import and before anyone reads a profile
DIGEST_AT = (0, 9, 15)  # Monday 09:15 in the chain's time zone, after quiet hours
SLICE = 5_000  # members written per transaction


@dataclass
class RefreshTimings:
    """Where a refresh's time went, in seconds (for the command's output and the benchmark)."""

    window: float = 0.0
    load: float = 0.0
    compute: float = 0.0
    write: float = 0.0  # all of the writing steps, events included
    events: float = 0.0  # of which: recording changes (the subscribers' work included)


async def refresh_segments(
    uow_factory: UnitOfWorkFactory,
    policy: Policy,
    now: datetime,
    *,
    rebuild: bool = False,
    slice_size: int = SLICE,
    timings: RefreshTimings | None = None,
) -> RefreshPlan:
    """Refresh every member's figures: window, load, compute, then the writes a slice per
    transaction (each slice records its members' events), and the refresh's summary last."""
    clock = time.perf_counter
    spent = timings or RefreshTimings()
    started = clock()
    record = await in_transaction(
        uow_factory, lambda uow: move_window(uow, policy, now, rebuild=rebuild)
    )
    spent.window = clock() - started
    started = clock()
    stats, previous = await in_transaction(uow_factory, load_stats)
    spent.load = clock() - started
    started = clock()
    plan = compute_refresh(policy.segments, stats, previous, record, now)
    spent.compute = clock() - started
    started = clock()
    for start in range(0, len(plan.segments), slice_size):

        async def write(uow: UnitOfWork, start: int = start) -> None:
            # write_slice, in two timed halves: the rows, then the events they cause.
            await write_rows(uow, plan, start, start + slice_size)
            recording = clock()
            await record_changes(uow, plan, start, start + slice_size)
            spent.events += clock() - recording

        await in_transaction(uow_factory, write)

    await in_transaction(uow_factory, lambda uow: finish_refresh(uow, plan))
    spent.write = clock() - started
    return plan


def summary(plan: RefreshPlan) -> str:
    """One line on what a refresh did (no member named)."""
    record = plan.record
    return (
        f"{record.members:,} members, {record.scored:,} with a purchase in the window "
        f"({record.method}); churn model: {record.model}; {plan.events:,} changes recorded. "
        f"{record.note}"
    )


async def segments_refresh() -> str:
    """Recompute every member's scores, segment, lifecycle stage and churn figures."""

    async def work(context: JobContext) -> str:
        plan = await refresh_segments(context.uow_factory, context.policy, context.clock.now())
        return summary(plan)

    return await run_recorded(REFRESH_JOB, work)


async def segments_weekly_digest() -> str:
    """Queue the last week's segment moves for the staff group."""

    async def work(context: JobContext) -> str:
        return await in_transaction(
            context.uow_factory,
            lambda uow: queue_weekly_digest(
                uow, context.policy, context.desk.staff_chat_id, context.clock.now()
            ),
        )

    return await run_recorded(DIGEST_JOB, work)


def segments_job_specs(policy: Policy) -> list[JobSpec]:
    hour, minute = REFRESH_AT
    day, d_hour, d_minute = DIGEST_AT
    return [
        JobSpec(
            REFRESH_JOB,
            segments_refresh,
            "scheduler.jobs.segments:segments_refresh",
            f"nightly at {hour:02d}:{minute:02d} {policy.timezone}; RFM "
            f"({policy.segments.method}), segments, lifecycle and churn for every member",
            CronTrigger(hour=hour, minute=minute, timezone=policy.timezone),
        ),
        JobSpec(
            DIGEST_JOB,
            segments_weekly_digest,
            "scheduler.jobs.segments:segments_weekly_digest",
            f"Mondays at {d_hour:02d}:{d_minute:02d} {policy.timezone}; the week's moves "
            "between segments, to the staff group",
            CronTrigger(day_of_week=day, hour=d_hour, minute=d_minute, timezone=policy.timezone),
        ),
    ]
