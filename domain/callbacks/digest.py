"""The callbacks line of the staff's weekly digest: last week's calls in one message."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.callbacks.views import callback_report
from domain.shared.clock import local_day
from domain.shared.outbox import queue_to_chat

if TYPE_CHECKING:
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


async def queue_weekly_line(
    uow: UnitOfWork, policy: Policy, staff_chat_id: str | None, now: datetime
) -> str:
    """Queue last week's figures (Monday to Sunday in the chain's zone) for the staff group,
    once per week by its dedupe key; what was done, for the job's record."""
    if staff_chat_id is None:
        return "no staff group (STAFF_CHAT_ID): nothing to post"
    today = local_day(now, policy.timezone)
    monday = today - timedelta(days=today.weekday() + 7)
    sunday = monday + timedelta(days=6)
    report = await callback_report(uow, policy, monday, sunday, None, now)
    year, week, _ = monday.isocalendar()
    queued = await queue_to_chat(
        uow,
        staff_chat_id,
        "callbacks.weekly",
        {
            "week": f"{year}-W{week:02d}",
            "due": report.due,
            "done": report.done,
            "on_time": report.done_on_time,
            "overdue": report.overdue,
            "reach": percent(report.reach_rate),
            "problems": report.problems,
        },
        f"callbacks:weekly:{year}-W{week:02d}",
        now,
        language=policy.tickets.staff_language,
    )
    return f"week {year}-W{week:02d}: " + ("queued" if queued else "already queued")
