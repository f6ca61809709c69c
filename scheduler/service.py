"""The delivery service: APScheduler and the outbox sender, run by whichever process leads.

`retailbot run` enters it around the Telegram adapter. It keeps trying to become leader (see
storage.jobs.scheduling); while leading it runs an AsyncIOScheduler on a persistent SQLAlchemy job
store (so a daily job missed while the bot was down still runs on start-up, within its
misfire grace time, once: coalesce) and the sender loop; if leadership is lost it stops both and
goes back to waiting. Leaving the context stops everything and releases the lock.

APScheduler 3 talks to its job store synchronously, and AsyncIOScheduler does it on the event
loop. On SQLite that deadlocks: the job store waits for the file's write lock while the update
holding it needs the loop to reach its COMMIT. So the scheduler here (LoopSafeScheduler) does
every wake-up's job store work in a worker thread of its own, and the service starts it and
brings its jobs up to date in threads too; the loop only starts the jobs and delivers events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from threading import TIMEOUT_MAX
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_SUBMITTED,
    JobSubmissionEvent,
    SchedulerEvent,
)
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.executors.base import MaxInstancesReachedError
from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_STOPPED, BaseScheduler

from scheduler.registry import JobContext, install, job_specs

if TYPE_CHECKING:
    from scheduler.sender import OutboxSender

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
MISFIRE_GRACE_SECONDS = 6 * 3600  # a daily job missed by a short outage still runs once
STOP_TIMEOUT = 30.0
JOBSTORE_RETRY_SECONDS = 10.0  # after a job store error in a wake-up, the next try


def _on_loop(loop: asyncio.AbstractEventLoop | None) -> bool:
    """True when called from the thread running `loop`."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _describe(exc: BaseException) -> str:
    """An error's kind and the driver's own words, without the statement or its parameters."""
    cause = getattr(exc, "orig", None) or exc
    first_line = str(cause).splitlines()[0] if str(cause) else ""
    return f"{type(cause).__name__}: {first_line}"[:200]


class LoopExecutor(AsyncIOExecutor):  # type: ignore[misc]  # APScheduler 3 is untyped
    """AsyncIOExecutor that takes jobs from any thread: each starts on the event loop."""

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if _on_loop(self._eventloop):
            super()._do_submit_job(job, run_times)
        else:  # from the scheduler's worker: hand the job to the loop
            self._eventloop.call_soon_threadsafe(self._start_on_loop, job, run_times)

    def _start_on_loop(self, job: Job, run_times: list[datetime]) -> None:
        if self._scheduler is None or self._scheduler.state == STATE_STOPPED:
            log.warning("job %s was not started: the scheduler stopped first", job.id)
            self._run_job_success(job.id, [])  # gives back its instance count
            return
        super()._do_submit_job(job, run_times)


class LoopSafeScheduler(AsyncIOScheduler):  # type: ignore[misc]  # APScheduler 3 is untyped
    """AsyncIOScheduler whose wake-ups never touch the job store on the event loop.

    A wake-up runs in a single worker thread, so a job store waiting for a database lock waits
    there while the loop goes on (and lets the transaction holding the lock commit). A due job's
    next run time is stored before the job starts: if it cannot be stored the job does not start
    and is still due at the next wake-up, so it never runs twice for one due time. A job store
    error is logged and retried after `jobstore_retry_interval`; it never stops the wake-ups.
    Events reach listeners on the loop, as with AsyncIOScheduler.

    The synchronous API (start, add_job, get_job, shutdown...) still works from the loop thread;
    a caller that must not block the loop calls it in a thread (see DeliveryService) and stops
    the scheduler with `aclose`.
    """

    _worker: ThreadPoolExecutor | None = None
    _waking: asyncio.Future[float | None] | None = None
    _wake_again = False
    _closing = False

    def start(self, paused: bool = False) -> None:
        self._closing = False
        self._wake_again = False
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retailbot-jobs")
        super().start(paused)

    def wakeup(self) -> None:
        """Ask for a wake-up; callable from any thread."""
        loop = self._eventloop
        if loop is None or loop.is_closed():
            return
        if _on_loop(loop):
            self._wake_on_loop()
        else:
            loop.call_soon_threadsafe(self._wake_on_loop)

    def _wake_on_loop(self) -> None:
        if self._closing or self._worker is None or self._eventloop is None:
            return
        self._stop_timer()
        if self._waking is not None:  # one wake-up at a time; another right after this one
            self._wake_again = True
            return
        waking = self._eventloop.run_in_executor(self._worker, self._wake_in_worker)
        self._waking = waking
        waking.add_done_callback(self._woken)

    def _woken(self, waking: asyncio.Future[float | None]) -> None:
        self._waking = None
        if self._closing or self.state == STATE_STOPPED or waking.cancelled():
            return
        wait_seconds = waking.result()  # _wake_in_worker does not raise
        if self._wake_again:
            self._wake_again = False
            wait_seconds = 0
        self._start_timer(wait_seconds)

    def _wake_in_worker(self) -> float | None:
        try:
            return self._process_jobs()
        except Exception as exc:  # whatever failed, the scheduler must wake up again
            log.warning(
                "a scheduler wake-up failed (%s); trying again in %s s",
                _describe(exc),
                self.jobstore_retry_interval,
            )
            return float(self.jobstore_retry_interval)

    def _process_jobs(self) -> float | None:
        """BaseScheduler._process_jobs, storing each due job's next run time before starting it.

        Returns the seconds until the next wake-up, None to wait for a job to be added.
        """
        if self.state == STATE_PAUSED:
            return None
        now = datetime.now(self.timezone)
        next_wakeup: datetime | None = None
        events: list[SchedulerEvent] = []
        with self._jobstores_lock:
            for alias, store in self._jobstores.items():
                try:
                    store_next = self._process_store(alias, store, now, events)
                except Exception as exc:
                    log.warning(
                        "job store %r failed during a wake-up (%s); trying again in %s s",
                        alias,
                        _describe(exc),
                        self.jobstore_retry_interval,
                    )
                    store_next = now + timedelta(seconds=self.jobstore_retry_interval)
                if store_next is not None and (next_wakeup is None or store_next < next_wakeup):
                    next_wakeup = store_next.astimezone(self.timezone)
        for event in events:
            self._dispatch_event(event)
        if self.state == STATE_PAUSED or next_wakeup is None:
            return None
        left = next_wakeup.timestamp() - datetime.now(self.timezone).timestamp()
        return float(min(max(left, 0), TIMEOUT_MAX))

    def _process_store(
        self, alias: str, store: BaseJobStore, now: datetime, events: list[SchedulerEvent]
    ) -> datetime | None:
        for job in store.get_due_jobs(now):
            try:
                executor = self._lookup_executor(job.executor)
            except KeyError:
                log.error("job %s names no executor (%s); removing it", job.id, job.executor)
                self.remove_job(job.id, alias)
                continue
            run_times = job._get_run_times(now)
            run_times = run_times[-1:] if run_times and job.coalesce else run_times
            if not run_times:
                continue
            # First the store, then the run: a failure here leaves the job due, not started.
            following = job.trigger.get_next_fire_time(run_times[-1], now)
            if following:
                job._modify(next_run_time=following)
                store.update_job(job)
            else:
                self.remove_job(job.id, alias)
            try:
                executor.submit_job(job, run_times)
            except MaxInstancesReachedError:
                log.warning("job %s skipped: it is still running", job.id)
                events.append(
                    JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, job.id, alias, run_times)
                )
            except Exception:
                log.exception("job %s could not be started", job.id)
            else:
                events.append(JobSubmissionEvent(EVENT_JOB_SUBMITTED, job.id, alias, run_times))
        next_run: datetime | None = store.get_next_run_time()
        return next_run

    def _dispatch_event(self, event: SchedulerEvent) -> None:
        loop = self._eventloop
        if loop is None or _on_loop(loop):
            super()._dispatch_event(event)
            return
        try:
            loop.call_soon_threadsafe(super()._dispatch_event, event)
        except RuntimeError:  # the loop is closed: deliver here rather than drop it
            super()._dispatch_event(event)

    def _shutdown(self, wait: bool = True) -> None:
        """As AsyncIOScheduler's: callable from any thread, it happens on the loop."""
        loop: asyncio.AbstractEventLoop | None = self._eventloop
        if loop is None or loop.is_closed():
            self._shutdown_on_loop(wait)
        else:
            loop.call_soon_threadsafe(self._shutdown_on_loop, wait)

    def _shutdown_on_loop(self, wait: bool) -> None:
        self._closing = True
        BaseScheduler.shutdown(self, wait)
        self._stop_timer()
        self._eventloop = None
        if self._worker is not None:
            self._worker.shutdown(wait=False)

    async def aclose(self) -> None:
        """Shut down once a wake-up under way has finished, the loop free meanwhile."""
        self._closing = True
        self._stop_timer()
        try:
            if self._waking is not None:
                await asyncio.wait({self._waking})
        finally:
            if self.running:
                self.shutdown(wait=False)

    def _create_default_executor(self) -> LoopExecutor:
        return LoopExecutor()


class Leadership(Protocol):
    async def try_acquire(self) -> bool: ...
    async def still_held(self) -> bool: ...
    async def release(self) -> None: ...


def build_scheduler(
    jobstore_url: str,
    engine_options: dict[str, Any] | None = None,
    *,
    event_loop: asyncio.AbstractEventLoop | None = None,
) -> Any:
    """A LoopSafeScheduler on the persistent job store, with the project's job defaults.

    Given `event_loop`, it may be started from another thread (see DeliveryService._lead).
    """
    store = SQLAlchemyJobStore(
        url=jobstore_url, tablename=JOBSTORE_TABLE, engine_options=engine_options or {}
    )
    options: dict[str, Any] = {} if event_loop is None else {"event_loop": event_loop}
    return LoopSafeScheduler(
        jobstores={"default": store},
        jobstore_retry_interval=JOBSTORE_RETRY_SECONDS,
        job_defaults={
            "coalesce": True,  # several missed runs become one
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "max_instances": 1,
        },
        timezone="UTC",
        **options,
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
        scheduler = build_scheduler(
            self.jobstore_url, self.engine_options, event_loop=asyncio.get_running_loop()
        )
        # The job store is synchronous: it is opened and brought up to date in a thread, so a
        # member's update holding the database's write lock can still commit meanwhile.
        await asyncio.to_thread(scheduler.start, True)  # paused: nothing fires before sync_jobs
        sender_stop = asyncio.Event()
        sender_task: asyncio.Task[None] | None = None
        try:
            await asyncio.to_thread(sync_jobs, scheduler, self.context)
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
            await scheduler.aclose()
            sender_stop.set()
            if sender_task is not None:
                await asyncio.gather(sender_task, return_exceptions=True)
            install(None)
