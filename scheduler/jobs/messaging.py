"""The outbox sender as a one-off job (`retailbot jobs run outbox-sender`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scheduler.registry import JobContext, JobSpec, run_recorded
from scheduler.sender import JOB_NAME as SENDER_JOB

if TYPE_CHECKING:
    from domain.shared.policy import Policy


async def outbox_sender() -> str:
    """Deliver everything that is due now, then stop (the service runs the sender as a loop)."""

    async def work(context: JobContext) -> str:
        if context.sender is None:
            raise RuntimeError("sending needs BOT_TOKEN (a messenger); none is configured")
        await context.sender.recover()
        stats = await context.sender.drain()
        return stats.summary()

    return await run_recorded(SENDER_JOB, work)


def messaging_job_specs(policy: Policy) -> list[JobSpec]:
    """The sender, listed for operators; it runs as a loop, not on the timetable."""
    return [
        JobSpec(
            SENDER_JOB,
            outbox_sender,
            "scheduler.jobs.messaging:outbox_sender",
            f"runs continuously while leading; at most {policy.delivery.rate_per_second:g} "
            "messages/s and 1 per chat per second",
            None,
        ),
    ]
