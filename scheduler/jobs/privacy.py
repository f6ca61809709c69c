"""The daily privacy job: carry out the account deletions whose cooling-off period is over,
and remove free texts older than the policy keeps them.

`privacy-retention` runs at 03:30 in the chain's time zone (after the nightly imports, before
the shops open) and reports what it removed, e.g. "removed: chat states 12, outbox texts 340,
survey comments 3, ticket texts 41, accounts deleted 1"; `retailbot jobs run privacy-retention`
runs it by hand. Every step is an idempotent conditional update, so a rerun removes nothing
twice. Each deletion is its own transaction (an erase touches every feature).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from domain.privacy.model import RetentionRun
from domain.privacy.services import apply_retention, erase_due
from scheduler.batches import in_transaction, until_done
from scheduler.registry import JobSpec, run_summarised

if TYPE_CHECKING:
    from datetime import datetime

    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork, UnitOfWorkFactory

RETENTION_JOB = "privacy-retention"
RUN_AT = (3, 30)


async def run_privacy(
    uow_factory: UnitOfWorkFactory, policy: Policy, now: datetime
) -> RetentionRun:
    """Deletions that are due, one per transaction, then the retention cut-offs."""
    run = RetentionRun()

    async def one_erasure(uow: UnitOfWork) -> bool:
        done = await erase_due(uow, now, limit=1)
        run.erased_members += done
        return done > 0

    await until_done(uow_factory, one_erasure)
    removed = await in_transaction(uow_factory, lambda uow: apply_retention(uow, policy, now))
    run.removed = removed.removed
    return run


async def privacy_retention() -> str:
    """Carry out due account deletions and remove free texts past their retention."""
    return await run_summarised(
        RETENTION_JOB, lambda job: run_privacy(job.uow_factory, job.policy, job.clock.now())
    )


def privacy_job_specs(policy: Policy) -> list[JobSpec]:
    """The privacy job, timetabled under `policy`."""
    kept = policy.privacy.retention
    return [
        JobSpec(
            RETENTION_JOB,
            privacy_retention,
            "scheduler.jobs.privacy:privacy_retention",
            f"daily at {RUN_AT[0]:02d}:{RUN_AT[1]:02d} {policy.timezone}; deletes accounts after "
            f"{policy.privacy.erase_cooling_off_days} day(s) of cooling off; removes ticket "
            f"texts after {kept.ticket_texts_months} months, survey comments after "
            f"{kept.survey_comments_months}, chat states after {kept.chat_states_months}, "
            f"outbox texts after {kept.outbox_texts_months}",
            CronTrigger(hour=RUN_AT[0], minute=RUN_AT[1], timezone=policy.timezone),
        ),
    ]
