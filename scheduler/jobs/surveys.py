"""The scheduled jobs of surveys: inviting after purchases, and the staff's weekly summary.

`survey-invitations` runs every few minutes and invites the members of sampled receipts that
are due (domain.surveys.services.invite_after_purchases); every invitation has a dedupe key, so
a rerun, a late run or a second scheduler invites nobody twice. `survey-weekly-summary` posts
last week's figures with the NPS trend chart to the staff group on Monday morning, once per
week. Both also run on demand: `retailbot jobs run survey-invitations`.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from domain.surveys.services import invite_after_purchases, queue_weekly_summary
from scheduler.registry import JobContext, JobSpec, run_recorded

if TYPE_CHECKING:
    from domain.shared.policy import Policy

INVITATIONS_JOB = "survey-invitations"
WEEKLY_JOB = "survey-weekly-summary"
EVERY_MINUTES = 15  # an invitation is at most this late after its due time
WEEKLY_AT = (0, 9, 30)  # Monday (0), 09:30 in the chain's time zone: after quiet hours


async def survey_invitations() -> str:
    """Invite the members of sampled receipts whose invitation is due."""

    async def work(context: JobContext) -> str:
        run = await invite_after_purchases(
            context.uow_factory, context.policy, context.clock.now()
        )
        return run.summary()

    return await run_recorded(INVITATIONS_JOB, work)


async def survey_weekly_summary() -> str:
    """Queue last week's survey figures, trend chart and lowest comments for the staff group."""

    async def work(context: JobContext) -> str:
        async with context.uow_factory() as uow:
            result = await queue_weekly_summary(
                uow,
                context.policy,
                context.desk.staff_chat_id,
                context.charts,
                context.clock.now(),
            )
            await uow.commit()
        return result

    return await run_recorded(WEEKLY_JOB, work)


def survey_job_specs(policy: Policy) -> list[JobSpec]:
    rules = policy.surveys
    day, hour, minute = WEEKLY_AT
    asked = (
        f"{rules.purchase_sample_percent:g}% of receipts asked '{rules.after_purchase}' "
        f"{rules.purchase_delay_hours:g} h after the purchase"
        if rules.after_purchase
        else "no survey after purchases"
    )
    return [
        JobSpec(
            INVITATIONS_JOB,
            survey_invitations,
            "scheduler.jobs.surveys:survey_invitations",
            f"every {EVERY_MINUTES} min; {asked}, at most one invitation per member in "
            f"{rules.min_days_between} day(s)",
            CronTrigger(minute=f"*/{EVERY_MINUTES}", timezone=UTC),
        ),
        JobSpec(
            WEEKLY_JOB,
            survey_weekly_summary,
            "scheduler.jobs.surveys:survey_weekly_summary",
            f"Mondays at {hour:02d}:{minute:02d} {policy.timezone}; last week's CSAT, NPS and "
            "comments with the NPS trend chart, to the staff group",
            CronTrigger(
                day_of_week=day, hour=hour, minute=minute, timezone=policy.timezone
            ),
        ),
    ]
