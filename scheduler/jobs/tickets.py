"""The scheduled job of complaint tickets: SLA reminders, breach alerts, auto-close, check-ins.

It runs every few minutes under the fixed id `ticket-followups` (and on demand with
`retailbot jobs run ticket-followups`); what it does is decided in domain.tickets.services,
and every message it queues has a dedupe key, so running it twice, or late, sends nothing twice.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from domain.tickets.model import Desk, FollowUpRun
from domain.tickets.services import follow_up_ticket, tickets_due_for_follow_up
from scheduler.batches import in_transaction
from scheduler.registry import JobSpec, run_summarised

if TYPE_CHECKING:
    from datetime import datetime

    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWorkFactory

TICKET_JOB = "ticket-followups"
FOLLOW_UP_BATCH = 200  # tickets looked up at a time; each is then handled in its own transaction
MAX_BATCHES = 500
EVERY_MINUTES = 5  # an SLA reminder comes at most this late; 1 hour SLAs warn at 48 minutes


async def follow_up_tickets(
    uow_factory: UnitOfWorkFactory,
    policy: Policy,
    desk: Desk,
    now: datetime,
    *,
    batch: int = FOLLOW_UP_BATCH,
    max_batches: int = MAX_BATCHES,
) -> FollowUpRun:
    """Everything due by `now` on every ticket (domain.tickets.services.follow_up_ticket), one
    short transaction per ticket."""
    run = FollowUpRun()
    for _ in range(max_batches):
        due = await in_transaction(
            uow_factory, lambda uow: tickets_due_for_follow_up(uow, now, batch)
        )
        for ticket_id in due:
            await in_transaction(
                uow_factory,
                lambda uow, t=ticket_id: follow_up_ticket(uow, policy, desk, t, now, run),
            )
        if len(due) < batch:
            break
    return run


async def ticket_followups() -> str:
    """Queue the ticket reminders, alerts, closings and check-ins due by now."""
    return await run_summarised(
        TICKET_JOB,
        lambda job: follow_up_tickets(job.uow_factory, job.policy, job.desk, job.clock.now()),
    )


def ticket_job_specs(policy: Policy) -> list[JobSpec]:
    rules = policy.tickets
    return [
        JobSpec(
            TICKET_JOB,
            ticket_followups,
            "scheduler.jobs.tickets:ticket_followups",
            f"every {EVERY_MINUTES} min; SLA reminders at {rules.reminder_share:.0%} of the "
            f"time and alerts at breach, members reminded after {rules.member_reminder_days} "
            f"day(s) and tickets closed after {rules.auto_close_days} without an answer, "
            f"check-ins {rules.follow_up_days} day(s) after closing",
            CronTrigger(minute=f"*/{EVERY_MINUTES}", timezone=UTC),
        )
    ]
