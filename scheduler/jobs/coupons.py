"""Coupon jobs: birthday gifts and the daily expiry with reminders."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from domain.coupons.birthdays import issue_birthday_gifts
from domain.coupons.services import expire_and_remind
from scheduler.registry import JobContext, JobSpec, run_recorded

if TYPE_CHECKING:
    from domain.shared.policy import Policy

BIRTHDAY_JOB = "birthday-coupons"
EXPIRY_JOB = "coupon-expiry"


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
