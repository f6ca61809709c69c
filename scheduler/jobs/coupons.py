"""Coupon jobs: birthday gifts and the daily expiry with reminders."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from domain.coupons.birthdays import (
    BirthdayRun,
    due_birthday_days,
    finish_day,
    gift_members,
    members_of_day,
)
from domain.coupons.services import expire_and_remind
from scheduler.batches import in_batches, in_transaction, until_done
from scheduler.registry import JobContext, JobSpec, run_recorded, run_summarised

if TYPE_CHECKING:
    from datetime import datetime

    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork, UnitOfWorkFactory

BIRTHDAY_JOB = "birthday-coupons"
BIRTHDAY_BATCH = 500  # members per transaction: short transactions, bounded memory at any scale
EXPIRY_JOB = "coupon-expiry"


# -- the jobs -----------------------------------------------------------------------------


async def issue_birthday_gifts(
    uow_factory: UnitOfWorkFactory, policy: Policy, now: datetime
) -> BirthdayRun:
    """Issue the coupons and queue the greetings due by `now` in every zone (see
    domain.coupons.birthdays): each batch of members, and each finished day, commits apart."""
    run = BirthdayRun()
    days = await in_transaction(uow_factory, lambda uow: due_birthday_days(uow, policy, now))
    for day in days:
        members = await in_transaction(uow_factory, lambda uow, d=day: members_of_day(uow, d))
        await in_batches(
            uow_factory, members, BIRTHDAY_BATCH,
            lambda uow, batch, d=day: gift_members(uow, policy, d, batch, now, run),
        )
        await in_transaction(uow_factory, lambda uow, d=day: finish_day(uow, d, now, run))
    return run


async def birthday_coupons() -> str:
    """Birthday coupons and greetings due in every store time zone (catching up missed days)."""
    return await run_summarised(
        BIRTHDAY_JOB,
        lambda job: issue_birthday_gifts(job.uow_factory, job.policy, job.clock.now()),
    )


async def coupon_expiry() -> str:
    """Mark expired coupons; queue one reminder per coupon that expires within a few days."""

    async def work(context: JobContext) -> str:
        totals = [0, 0]

        async def step(uow: UnitOfWork) -> bool:
            run = await expire_and_remind(uow, context.policy, context.clock.now())
            totals[0] += run.expired
            totals[1] += run.reminded
            return run.more

        await until_done(context.uow_factory, step)
        return f"{totals[0]} coupons expired, {totals[1]} reminders queued"

    return await run_recorded(EXPIRY_JOB, work)


BIRTHDAY_EVERY_MINUTES = 5


def coupon_job_specs(policy: Policy) -> list[JobSpec]:
    """The coupon jobs, timetabled under `policy`."""
    return [
        JobSpec(
            BIRTHDAY_JOB,
            birthday_coupons,
            "scheduler.jobs.coupons:birthday_coupons",
            f"every {BIRTHDAY_EVERY_MINUTES} min; gifts each store zone's birthdays once its "
            f"local time reaches {policy.birthday.send_at:%H:%M} "
            f"(catching up {policy.birthday.catch_up_days} missed day(s))",
            CronTrigger(minute=f"*/{BIRTHDAY_EVERY_MINUTES}", timezone=UTC),
        ),
        JobSpec(
            EXPIRY_JOB,
            coupon_expiry,
            "scheduler.jobs.coupons:coupon_expiry",
            f"daily at 00:05 {policy.timezone}; expires coupons, reminds "
            f"{policy.delivery.coupon_reminder_days} day(s) ahead",
            CronTrigger(hour=0, minute=5, timezone=policy.timezone),
        ),
    ]
