"""Running jobs in a test: one job called directly, or the delivery service (scheduler +
sender) until a job has run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.bootstrap import App, build_delivery, job_context
from domain.jobs.model import JobRun
from scheduler import registry

WAIT = 15.0  # seconds; every wait here is bounded


async def lead_until_job_ran(app: App, job: str, wait: float = WAIT) -> dict[str, JobRun]:
    """Start the delivery service without a sender, let it lead until `job` has finished a
    run (or `wait` passes), stop it, and return every job's last run."""
    service = build_delivery(app, None)
    service.check_seconds = 0.2
    async with service:
        await asyncio.wait_for(service.leading.wait(), wait)
        for _ in range(int(wait / 0.1)):
            async with app.uow_factory() as uow:
                run = (await uow.jobs.runs()).get(job)
            if run is not None and run.ok is not None:
                break
            await asyncio.sleep(0.1)
    async with app.uow_factory() as uow:
        return await uow.jobs.runs()


async def run_as_scheduled(app: App, job: Callable[[], Awaitable[str]]) -> str:
    """Call a registered job function as the scheduler would: with the app's job context
    installed while it runs, and removed again however it ends; returns its summary."""
    registry.install(job_context(app))
    try:
        return await job()
    finally:
        registry.install(None)
