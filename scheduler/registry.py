"""The job registry: every scheduled job's spec, the context jobs run in, and their records.

Jobs live in scheduler/jobs/<feature>.py, each module listing its own specs. A persistent job
store keeps a job as a reference to its function ("scheduler.jobs.coupons:birthday_coupons")
and its arguments, so a job is a plain function taking plain values; what it works with
(database, policy, clock) comes from the context the running service installed. Every run is
recorded in `job_runs` (started, finished, ok, result) for `retailbot jobs list`. Jobs that work
in batches commit through scheduler/batches.py; the use cases they call never commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from apscheduler.triggers.base import BaseTrigger

from domain.tickets.model import Desk
from scheduler.batches import in_transaction
from scheduler.sender import OutboxSender

if TYPE_CHECKING:
    from domain.shared.clock import Clock
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork, UnitOfWorkFactory
    from domain.surveys.ports import SurveyCharts

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    """What jobs work with; installed by the service (or `retailbot jobs run`) before they run."""

    uow_factory: UnitOfWorkFactory
    policy: Policy
    clock: Clock
    sender: OutboxSender | None = None  # for running the sender as a one-off job
    desk: Desk = field(default_factory=Desk)  # the staff group and admins, for ticket alerts
    charts: SurveyCharts | None = None  # draws the weekly survey summary's chart


_context: JobContext | None = None


def install(context: JobContext | None) -> None:
    global _context
    _context = context


def current() -> JobContext:
    if _context is None:
        raise RuntimeError("no job context: jobs run inside `retailbot run` or `jobs run`")
    return _context


async def run_recorded(name: str, work: Callable[[JobContext], Awaitable[str]]) -> str:
    """Run one job with its start, end and result written to job_runs."""
    context = current()
    async with context.uow_factory() as uow:
        await uow.jobs.record_start(name, context.clock.now())
        await uow.commit()
    try:
        result = await work(context)
    except (Exception, asyncio.CancelledError) as exc:
        # A stopped scheduler cancels a running job; the work is idempotent and is redone on
        # the next run, but `jobs list` should say it did not finish.
        reason = "cancelled: the scheduler stopped" if isinstance(
            exc, asyncio.CancelledError
        ) else f"{type(exc).__name__}: {exc}"
        async with context.uow_factory() as uow:
            await uow.jobs.record_finish(name, context.clock.now(), False, reason)
            await uow.commit()
        raise
    async with context.uow_factory() as uow:
        await uow.jobs.record_finish(name, context.clock.now(), True, result)
        await uow.commit()
    log.info("job %s: %s", name, result)
    return result


class RunRecord(Protocol):
    """What a batch job's use case hands back: its counts, summed up in one line."""

    def summary(self) -> str: ...


async def run_summarised(name: str, run: Callable[[JobContext], Awaitable[RunRecord]]) -> str:
    """Run one job whose work returns a run record; its summary is the job's recorded result."""

    async def work(context: JobContext) -> str:
        return (await run(context)).summary()

    return await run_recorded(name, work)


async def run_in_one_transaction(
    name: str, step: Callable[[JobContext, UnitOfWork], Awaitable[str]]
) -> str:
    """Run one job whose work is a single committed transaction (such as a weekly line for the
    staff group); what `step` returns is the job's recorded result."""

    async def work(context: JobContext) -> str:
        return await in_transaction(context.uow_factory, lambda uow: step(context, uow))

    return await run_recorded(name, work)


# -- the registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """A job as operators see it; `trigger` None means it is not on the timetable."""

    name: str
    func: Callable[[], Awaitable[str]]
    ref: str  # how the job store refers to the function
    description: str
    trigger: BaseTrigger | None


def job_specs(policy: Policy) -> list[JobSpec]:
    """Every job, with its trigger under `policy`: each feature's jobs module lists its own."""
    # Imported here: the feature modules build on this one (JobContext, run_recorded).
    from scheduler.jobs.callbacks import callbacks_job_specs
    from scheduler.jobs.campaigns import campaign_job_specs
    from scheduler.jobs.coupons import coupon_job_specs
    from scheduler.jobs.messaging import messaging_job_specs
    from scheduler.jobs.privacy import privacy_job_specs
    from scheduler.jobs.segments import segments_job_specs
    from scheduler.jobs.surveys import survey_job_specs
    from scheduler.jobs.tickets import ticket_job_specs

    return [
        *coupon_job_specs(policy),
        *messaging_job_specs(policy),
        *ticket_job_specs(policy),
        *survey_job_specs(policy),
        *segments_job_specs(policy),
        *privacy_job_specs(policy),
        *campaign_job_specs(policy),
        *callbacks_job_specs(policy),
    ]


def spec_named(policy: Policy, name: str) -> JobSpec:
    for spec in job_specs(policy):
        if spec.name == name:
            return spec
    names = ", ".join(spec.name for spec in job_specs(policy))
    raise LookupError(f"there is no job {name!r}; the jobs are: {names}")


def next_fire(spec: JobSpec, now: datetime) -> datetime | None:
    """When the trigger would fire next after `now` (for a job not yet in the store)."""
    if spec.trigger is None:
        return None
    result: datetime | None = spec.trigger.get_next_fire_time(None, now)
    return result
