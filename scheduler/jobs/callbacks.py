"""The scheduled jobs of callbacks: the rules that run on a timetable, check-ins falling back to
the call queue, overdue reminders, and the weekly digest line.

`callbacks` runs every few minutes: it makes the new-member and VIP callbacks whose local
morning has come (complaint, detractor and gone-quiet callbacks are made by the events that
cause them), sends the check-ins that are due, moves unanswered ones to the call queue and
reminds assignees and managers of overdue calls. Everything has a dedupe key, so a rerun, a
late run or a second scheduler makes nothing twice. `callbacks-weekly-summary` posts last week's
figures to the staff group on Monday morning.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from domain.callbacks.digest import queue_weekly_line
from domain.callbacks.model import CallbackRun
from domain.callbacks.services import (
    expire_checkin,
    remind_overdue,
    schedule_new_members,
    schedule_vips,
    send_due_checkin,
)
from scheduler.batches import in_transaction
from scheduler.registry import JobSpec, run_in_one_transaction, run_summarised

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork, UnitOfWorkFactory
    from domain.tickets.model import Desk

CALLBACKS_JOB = "callbacks"
WEEKLY_JOB = "callbacks-weekly-summary"
EVERY_MINUTES = 15
BATCH = 200  # callbacks looked up at a time; each is then handled in its own transaction
MAX_BATCHES = 500
WEEKLY_AT = (0, 9, 35)  # Monday 09:35 in the chain's zone, after the survey summary


async def run_callbacks(
    uow_factory: UnitOfWorkFactory, policy: Policy, desk: Desk, now: datetime,
    *, batch: int = BATCH,
) -> CallbackRun:
    """Everything due by `now`: the timetable's rules, check-in fallbacks, overdue reminders."""
    run = CallbackRun()
    await in_transaction(uow_factory, lambda uow: schedule_new_members(uow, policy, now, run))
    await in_transaction(uow_factory, lambda uow: schedule_vips(uow, policy, now, run))
    await _each_due(
        uow_factory,
        lambda uow: uow.callbacks.due_checkins(now, batch),
        lambda uow, c: send_due_checkin(uow, policy, c, now, run),
        batch,
    )
    await _each_due(
        uow_factory,
        lambda uow: uow.callbacks.unanswered_checkins(now, batch),
        lambda uow, c: expire_checkin(uow, policy, c, now, run),
        batch,
    )
    # A call reminded once stays a candidate for the managers' reminder: `seen` keeps one run
    # from looking at it twice.
    before = now - timedelta(hours=policy.callbacks.remind_after_hours)
    seen: set[int] = set()
    for _ in range(MAX_BATCHES):
        overdue = await in_transaction(
            uow_factory, lambda uow: uow.callbacks.overdue_calls(before, len(seen) + batch)
        )
        fresh = [c for c in overdue if c not in seen]
        if not fresh:
            break
        for callback_id in fresh:
            seen.add(callback_id)
            await in_transaction(
                uow_factory,
                lambda uow, c=callback_id: remind_overdue(uow, policy, desk, c, now, run),
            )
    return run


async def _each_due(
    uow_factory: UnitOfWorkFactory,
    find: Callable[[UnitOfWork], Awaitable[list[int]]],
    handle: Callable[[UnitOfWork, int], Awaitable[object]],
    batch: int,
) -> None:
    """Look up `batch` callbacks at a time and handle each in its own transaction, until a
    look-up finds fewer (at most MAX_BATCHES look-ups)."""
    for _ in range(MAX_BATCHES):
        due = await in_transaction(uow_factory, find)
        for callback_id in due:
            await in_transaction(uow_factory, lambda uow, c=callback_id: handle(uow, c))
        if len(due) < batch:
            break


async def callbacks() -> str:
    """Make the callbacks the timetable's rules call for; fall back and remind."""
    return await run_summarised(
        CALLBACKS_JOB,
        lambda job: run_callbacks(job.uow_factory, job.policy, job.desk, job.clock.now()),
    )


async def callbacks_weekly_summary() -> str:
    """Queue last week's callbacks figures for the staff group."""
    return await run_in_one_transaction(
        WEEKLY_JOB,
        lambda job, uow: queue_weekly_line(
            uow, job.policy, job.desk.staff_chat_id, job.clock.now()
        ),
    )


def callbacks_job_specs(policy: Policy) -> list[JobSpec]:
    rules = policy.callbacks
    on = [r.rule.value for r in sorted(rules.rules, key=lambda r: r.priority) if r.enabled]
    day, hour, minute = WEEKLY_AT
    return [
        JobSpec(
            CALLBACKS_JOB,
            callbacks,
            "scheduler.jobs.callbacks:callbacks",
            f"every {EVERY_MINUTES} min; rules on: {', '.join(on) or 'none'}; unanswered "
            f"check-ins to the call queue after {rules.checkin_answer_days} day(s); overdue "
            f"calls remind after {rules.remind_after_hours:g} h, managers after "
            f"{rules.escalate_after_hours:g} h",
            CronTrigger(minute=f"*/{EVERY_MINUTES}", timezone=UTC),
        ),
        JobSpec(
            WEEKLY_JOB,
            callbacks_weekly_summary,
            "scheduler.jobs.callbacks:callbacks_weekly_summary",
            f"Mondays at {hour:02d}:{minute:02d} {policy.timezone}; last week's callbacks "
            "(due, done, reach rate, problems) to the staff group",
            CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=policy.timezone),
        ),
    ]
