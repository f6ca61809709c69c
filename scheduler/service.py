"""The delivery service: APScheduler and the outbox sender, run by whichever process leads.

`retailbot run` enters it around the Telegram adapter. It keeps trying to become leader (see
storage.jobs.scheduling); while leading it runs an AsyncIOScheduler on a persistent SQLAlchemy job
store (so a daily job missed while the bot was down still runs on start-up, within its
misfire grace time, once: coalesce) and the sender loop; if leadership is lost it stops both and
goes back to waiting. Leaving the context stops everything and releases the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.registry import JobContext, install, job_specs

if TYPE_CHECKING:
    from scheduler.sender import OutboxSender

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
MISFIRE_GRACE_SECONDS = 6 * 3600  # a daily job missed by a short outage still runs once
STOP_TIMEOUT = 30.0


class Leadership(Protocol):
    async def try_acquire(self) -> bool: ...
    async def still_held(self) -> bool: ...
    async def release(self) -> None: ...


def build_scheduler(jobstore_url: str, engine_options: dict[str, Any] | None = None) -> Any:
    """An AsyncIOScheduler on the persistent job store, with the project's job defaults."""
    store = SQLAlchemyJobStore(
        url=jobstore_url, tablename=JOBSTORE_TABLE, engine_options=engine_options or {}
    )
    return AsyncIOScheduler(
        jobstores={"default": store},
        job_defaults={
            "coalesce": True,  # several missed runs become one
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "max_instances": 1,
        },
        timezone="UTC",
    )


def sync_jobs(scheduler: Any, context: JobContext) -> None:
    """Put every timetabled job in the store under its fixed id.

    A job already stored with the same trigger keeps its stored next run time (maybe in the past,
    after an outage), so the missed run happens; if only its function reference differs (the
    function moved to another module) the reference is updated in place. A changed trigger (the
    policy file was edited) replaces the job. So does a stored job that cannot be loaded (its
    reference imports nothing any more): left in place it would stop the service from starting.
    """
    for spec in job_specs(context.policy):
        if spec.trigger is None:
            continue
        try:
            stored = scheduler.get_job(spec.name)
        except LookupError:  # APScheduler's word for "this function reference imports nothing"
            log.warning(
                "stored job %s names a function that no longer imports; storing it anew, "
                "without its stored next run time",
                spec.name,
            )
            stored = None
        if stored is not None and repr(stored.trigger) == repr(spec.trigger):
            if stored.func_ref != spec.ref:
                scheduler.modify_job(spec.name, func=spec.ref)
                log.info("job %s now runs %s", spec.name, spec.ref)
            continue
        scheduler.add_job(
            spec.ref, spec.trigger, id=spec.name, name=spec.name, replace_existing=True
        )
        log.info("scheduled job %s: %s", spec.name, spec.trigger)


class DeliveryService:
    """`async with DeliveryService(...):` runs the jobs and the sender while leading."""

    def __init__(
        self,
        context: JobContext,
        *,
        jobstore_url: str,
        leadership: Leadership,
        sender: OutboxSender | None,
        engine_options: dict[str, Any] | None = None,
        retry_seconds: float = 15.0,
        check_seconds: float = 15.0,
    ) -> None:
        self.context = context
        self.jobstore_url = jobstore_url
        self.engine_options = engine_options
        self.leadership = leadership
        self.sender = sender
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.leading = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DeliveryService:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="retailbot-delivery")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, STOP_TIMEOUT)
            except TimeoutError:
                log.error("the scheduler and sender did not stop within %s s", STOP_TIMEOUT)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _run(self) -> None:
        announced = False
        while not self._stop.is_set():
            try:
                acquired = await self.leadership.try_acquire()
            except Exception:
                log.warning("could not ask for leadership; trying again later", exc_info=True)
                acquired = False
            if not acquired:
                if not announced:
                    log.info("another process runs the scheduler and sender; standing by")
                    announced = True
                await self._pause(self.retry_seconds)
                continue
            announced = False
            try:
                await self._lead()
            except Exception:
                log.exception("the scheduler or sender failed; stepping down and retrying")
                await self._pause(self.retry_seconds)
            finally:
                self.leading.clear()
                await self.leadership.release()

    async def _lead(self) -> None:
        log.info("this process leads: running the scheduler and the outbox sender")
        install(self.context)
        scheduler = build_scheduler(self.jobstore_url, self.engine_options)
        scheduler.start(paused=True)  # jobs are brought up to date before anything fires
        sender_stop = asyncio.Event()
        sender_task: asyncio.Task[None] | None = None
        try:
            sync_jobs(scheduler, self.context)
            scheduler.resume()
            if self.sender is not None:
                sender_task = asyncio.create_task(self.sender.run(sender_stop))
            self.leading.set()
            while not self._stop.is_set():
                await self._pause(self.check_seconds)
                if sender_task is not None and sender_task.done():
                    sender_task.result()  # re-raises why the sender stopped
                    raise RuntimeError("the sender stopped by itself")
                if not await self.leadership.still_held():
                    log.warning("leadership lost; stopping the scheduler and the sender")
                    return
        finally:
            scheduler.shutdown(wait=False)
            sender_stop.set()
            if sender_task is not None:
                await asyncio.gather(sender_task, return_exceptions=True)
            install(None)
