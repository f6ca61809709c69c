"""The scheduled jobs: top-level async functions with deterministic ids, run by APScheduler.

A persistent job store keeps a job as a reference to its function ("scheduler.jobs:...") and
its arguments, so a job is a plain function taking plain values; what it works with (database,
policy, clock) comes from the context the running service installed. Every run is recorded in
`job_runs` (started, finished, ok, result) for `retailbot jobs list`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from domain.birthdays import issue_birthday_gifts
from domain.clock import Clock
from domain.coupons import expire_and_remind
from domain.policy import Policy
from domain.ports import UnitOfWorkFactory
from domain.survey_report import SurveyCharts
from domain.ticketing import Desk
from scheduler.sender import JOB_NAME as SENDER_JOB
from scheduler.sender import OutboxSender

log = logging.getLogger(__name__)

BIRTHDAY_JOB = "birthday-coupons"
EXPIRY_JOB = "coupon-expiry"


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


# -- the jobs -----------------------------------------------------------------------------


async def birthday_coupons() -> str:
    """Birthday coupons and greetings due in every store time zone (catching up missed days)."""

    async def work(context: JobContext) -> str:
        run = await issue_birthday_gifts(
            context.uow_factory, context.policy, context.clock.now()
        )
        return run.summary()

    return await run_recorded(BIRTHDAY_JOB, work)


async def coupon_expiry() -> str:
    """Mark expired coupons; queue one reminder per coupon that expires within a few days."""

    async def work(context: JobContext) -> str:
        expired = reminded = 0
        more = True
        while more:
            async with context.uow_factory() as uow:
                run = await expire_and_remind(uow, context.policy, context.clock.now())
                await uow.commit()
            expired += run.expired
            reminded += run.reminded
            more = run.more
        return f"{expired} coupons expired, {reminded} reminders queued"

    return await run_recorded(EXPIRY_JOB, work)


async def outbox_sender() -> str:
    """Deliver everything that is due now, then stop (the service runs the sender as a loop)."""

    async def work(context: JobContext) -> str:
        if context.sender is None:
            raise RuntimeError("sending needs BOT_TOKEN (a messenger); none is configured")
        await context.sender.recover()
        stats = await context.sender.drain()
        return stats.summary()

    return await run_recorded(SENDER_JOB, work)


# -- the registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """A job as operators see it; `trigger` None means it is not on the timetable."""

    name: str
    func: Callable[[], Awaitable[str]]
    ref: str  # how the job store refers to the function
    description: str
    trigger: BaseTrigger | None


BIRTHDAY_EVERY_MINUTES = 5


def job_specs(policy: Policy) -> list[JobSpec]:
    """Every job, with its trigger under `policy`."""
    from scheduler.survey_jobs import survey_job_specs  # they build on this module
    from scheduler.ticket_jobs import ticket_job_specs

    return [
        JobSpec(
            BIRTHDAY_JOB,
            birthday_coupons,
            "scheduler.jobs:birthday_coupons",
            f"every {BIRTHDAY_EVERY_MINUTES} min; gifts each store zone's birthdays once its "
            f"local time reaches {policy.birthday.send_at:%H:%M} "
            f"(catching up {policy.birthday.catch_up_days} missed day(s))",
            CronTrigger(minute=f"*/{BIRTHDAY_EVERY_MINUTES}", timezone=UTC),
        ),
        JobSpec(
            EXPIRY_JOB,
            coupon_expiry,
            "scheduler.jobs:coupon_expiry",
            f"daily at 00:05 {policy.timezone}; expires coupons, reminds "
            f"{policy.delivery.coupon_reminder_days} day(s) ahead",
            CronTrigger(hour=0, minute=5, timezone=policy.timezone),
        ),
        JobSpec(
            SENDER_JOB,
            outbox_sender,
            "scheduler.jobs:outbox_sender",
            f"runs continuously while leading; at most {policy.delivery.rate_per_second:g} "
            "messages/s and 1 per chat per second",
            None,
        ),
        *ticket_job_specs(policy),
        *survey_job_specs(policy),
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
