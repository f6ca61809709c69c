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

from domain.surveys.model import InvitationRun
from domain.surveys.services import due_purchase_invitations, invite_receipts, queue_weekly_summary
from scheduler.batches import in_batches, in_transaction
from scheduler.registry import JobSpec, run_in_one_transaction, run_summarised

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork, UnitOfWorkFactory
    from domain.surveys.model import ReceiptDue

INVITATIONS_JOB = "survey-invitations"
WEEKLY_JOB = "survey-weekly-summary"
INVITE_BATCH = 500  # receipts per transaction
EVERY_MINUTES = 15  # an invitation is at most this late after its due time
WEEKLY_AT = (0, 9, 30)  # Monday (0), 09:30 in the chain's time zone: after quiet hours


async def invite_after_purchases(
    uow_factory: UnitOfWorkFactory, policy: Policy, now: datetime, *, batch: int = INVITE_BATCH
) -> InvitationRun:
    """Invite the members of the sampled receipts that are due by `now`, a batch per
    transaction (see domain.surveys.services.due_purchase_invitations)."""
    run = InvitationRun()
    definition, due = await in_transaction(
        uow_factory, lambda uow: due_purchase_invitations(uow, policy, now)
    )
    if definition is None:
        return run

    async def invite(uow: UnitOfWork, chunk: Sequence[ReceiptDue]) -> None:
        run.add(await invite_receipts(uow, policy, definition, chunk, now))

    await in_batches(uow_factory, due, batch, invite)
    return run


async def survey_invitations() -> str:
    """Invite the members of sampled receipts whose invitation is due."""
    return await run_summarised(
        INVITATIONS_JOB,
        lambda job: invite_after_purchases(job.uow_factory, job.policy, job.clock.now()),
    )


async def survey_weekly_summary() -> str:
    """Queue last week's survey figures, trend chart and lowest comments for the staff group."""
    return await run_in_one_transaction(
        WEEKLY_JOB,
        lambda job, uow: queue_weekly_summary(
            uow, job.policy, job.desk.staff_chat_id, job.charts, job.clock.now()
        ),
    )


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
