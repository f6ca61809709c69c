"""The outbox sender: delivers queued messages at a safe pace, exactly once or reported `unknown`.

Life of a row: `pending` (or `deferred` for quiet hours) until due; the sender applies the
rules of domain.messaging.rules.decide (consent, frequency cap, quiet hours, reachability); a
row that may go is marked `sending` and committed, then handed to the Messenger, then marked
`sent`. If the process dies between the two commits nobody knows whether Telegram got it: at
start-up such rows become `unknown` and are never sent again, because a duplicate birthday
greeting or a second "your code is ..." is worse than an operator looking at a short list of
unknowns.

Failures: 429 pauses all sending for `retry_after` and the row goes back to the queue as it was;
403 marks the chat user unreachable (until they write again) and the row `failed`; a refused
message (400) is `dead` at once; anything else is retried with doubling back-off and is `dead`
after `max_attempts`. Each outcome keeps its reason in `last_error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from domain.messaging.model import Action, ChatTopic, OutboxMessage, OutboxStatus, Recipient
from domain.messaging.ports import (
    Buttons,
    ChatUnreachable,
    MessageRejected,
    Messenger,
    RateLimited,
)
from domain.messaging.rules import backoff, decide, localise_params
from scheduler.ratelimit import RateLimiter

if TYPE_CHECKING:
    from domain.shared.clock import Clock
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

JOB_NAME = "outbox-sender"
REPORT_EVERY = 60.0  # seconds between summaries in job_runs while the loop runs


class Translate(Protocol):
    """handlers.i18n.Translator, as the sender needs it (passed in: scheduler does not import
    handlers)."""

    def __call__(self, lang: str, key: str, **params: Any) -> str: ...


@dataclass
class SenderStats:
    """What the sender did, for logs, `jobs list` and tests."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    deferred: int = 0
    retried: int = 0
    rate_limited: int = 0
    unknown: int = 0

    def summary(self) -> str:
        parts = [f"{f.name.replace('_', ' ')} {getattr(self, f.name)}" for f in fields(self)]
        return ", ".join(parts)

    def minus(self, other: SenderStats) -> SenderStats:
        return SenderStats(
            **{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)}
        )


@dataclass(frozen=True)
class Pass:
    """What one pass over the due rows did."""

    started: int  # handed to the messenger
    postponed: int  # due, but their chat had a message less than a second ago
    idle: float  # how long to wait before the next pass is worth it


class OutboxSender:
    """Delivers due outbox rows through a Messenger; one per database (see DeliveryService)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        messenger: Messenger,
        policy: Policy,
        clock: Clock,
        translate: Translate,
        *,
        max_in_flight: int = 16,
        batch_size: int | None = None,
        poll_interval: float = 1.0,
        limiter: RateLimiter | None = None,
    ) -> None:
        delivery = policy.delivery
        self.uow_factory = uow_factory
        self.messenger = messenger
        self.policy = policy
        self.clock = clock
        self.translate = translate
        self.limiter = limiter or RateLimiter(delivery.rate_per_second, delivery.per_chat_interval)
        # Enough rows for about two seconds of sending: fresh decisions, short queries.
        self.batch_size = batch_size or max(20, int(delivery.rate_per_second * 2))
        self.poll_interval = poll_interval
        self.stats = SenderStats()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._unreachable: set[int] = set()  # chat users found blocked during this run
        self._topic_locks: dict[tuple[str, str], asyncio.Lock] = {}  # per chat and subject
        self._topic_users: dict[tuple[str, str], int] = {}  # a lock goes when nobody needs it

    # -- life cycle -------------------------------------------------------------------------

    async def recover(self) -> int:
        """At start-up: rows left `sending` by a dead sender become `unknown`, never resent."""
        async with self.uow_factory() as uow:
            count = await uow.outbox.recover_sending(self.clock.now())
            await uow.commit()
        if count:
            log.warning(
                "%d outbox message(s) were being sent when the sender stopped; they are marked "
                "'unknown' and will not be sent again",
                count,
            )
        self.stats.unknown += count
        return count

    async def run(self, stop: asyncio.Event) -> None:
        """Recover, then deliver until `stop` is set; in-flight sends finish before returning."""
        await self.recover()
        await self._record_start()
        reported = SenderStats()
        last_report = asyncio.get_running_loop().time()
        try:
            while not stop.is_set():
                done = await self.step()
                if done.started == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), done.idle)
                now = asyncio.get_running_loop().time()
                if now - last_report >= REPORT_EVERY:
                    await self._report(self.stats.minus(reported))
                    reported, last_report = _copy(self.stats), now
        finally:
            await self.wait_in_flight()
            await self._report(self.stats.minus(reported))

    async def drain(self, *, max_seconds: float = 600.0) -> SenderStats:
        """Deliver until nothing is due and nothing is in flight (for `jobs run` and tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        while loop.time() < deadline:
            done = await self.step()
            if done.started:
                continue
            if self._tasks:
                await self.wait_in_flight()
                continue
            if not done.postponed:
                break  # nothing due at all
            await asyncio.sleep(done.idle)  # only rows waiting for their chat's next second
        await self.wait_in_flight()
        return self.stats

    async def wait_in_flight(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- one pass ---------------------------------------------------------------------------

    async def step(self) -> Pass:
        """One pass over the due rows."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            rows = await uow.outbox.due(now, self.batch_size)
            recipients = await uow.outbox.recipients(rows, now) if rows else {}
        if not rows:
            return Pass(0, 0, self.poll_interval)
        sendable = await self._apply_rules(rows, recipients, now)
        started = 0
        waits: list[float] = []
        chats_this_pass: set[str] = set()
        for row, recipient in sendable:
            chat = recipient.chat_id
            wait = self.limiter.chat_wait(chat)
            if chat in chats_this_pass or wait > 0:
                waits.append(wait or self.limiter.per_chat_interval)
                continue  # the chat's next second; the row stays due for a later pass
            if row.chat_user_id is not None and row.chat_user_id in self._unreachable:
                await self._finish(row, OutboxStatus.FAILED, "chat unreachable (blocked)")
                continue
            chats_this_pass.add(chat)
            await self._slots.acquire()
            try:
                await self.limiter.acquire(chat)
                assert row.id is not None
                async with self.uow_factory() as uow:
                    claimed = await uow.outbox.mark_sending(row.id, self.clock.now())
                    await uow.commit()
            except BaseException:
                self._slots.release()
                raise
            if not claimed:  # another sender took it (should not happen while one leads)
                self._slots.release()
                continue
            task = asyncio.create_task(self._deliver(row, recipient))
            self._tasks.add(task)
            task.add_done_callback(self._done)
            started += 1
        idle = min(waits) if waits else self.poll_interval
        return Pass(started, len(waits), max(idle, 0.01))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivering an outbox message failed", exc_info=task.exception())

    async def _apply_rules(
        self, rows: list[OutboxMessage], recipients: dict[int, Recipient], now: datetime
    ) -> list[tuple[OutboxMessage, Recipient]]:
        """Defer, skip or fail what may not go now (one transaction); return the rest."""
        sendable: list[tuple[OutboxMessage, Recipient]] = []
        async with self.uow_factory() as uow:
            for row in rows:
                assert row.id is not None
                recipient = recipients[row.id]
                decision = decide(
                    row, recipient, self.policy.delivery, now, self.policy.timezone
                )
                if decision.action is Action.SEND:
                    sendable.append((row, recipient))
                elif decision.action is Action.DEFER:
                    assert decision.until is not None
                    await uow.outbox.reschedule(
                        row.id, OutboxStatus.DEFERRED, decision.until, error=decision.reason
                    )
                    self.stats.deferred += 1
                elif decision.action is Action.SKIP:
                    await uow.outbox.finish(row.id, OutboxStatus.SKIPPED, decision.reason, now)
                    self.stats.skipped += 1
                else:
                    await uow.outbox.finish(row.id, OutboxStatus.FAILED, decision.reason, now)
                    self.stats.failed += 1
            await uow.commit()
        return sendable

    # -- one message ------------------------------------------------------------------------

    def render(self, row: OutboxMessage, lang: str) -> tuple[str, Buttons]:
        """The text and buttons of a row in the chat's language, as of now."""
        if row.message_key is not None:
            text = self.translate(lang, row.message_key, **localise_params(row.params, lang))
        else:
            text = row.text or ""
        buttons = tuple(
            tuple(
                (
                    b["text"] if "text" in b else self.translate(lang, b.get("key", "")),
                    b.get("data", ""),
                )
                for b in line
            )
            for line in row.buttons
        )
        return text, buttons

    async def _deliver(self, row: OutboxMessage, recipient: Recipient) -> None:
        assert row.id is not None
        text, buttons = self.render(row, recipient.language)
        try:
            sent_id = await self._send(row, recipient.chat_id, text, buttons)
        except RateLimited as exc:
            self.limiter.pause(exc.retry_after)
            self.stats.rate_limited += 1
            log.warning(
                "Telegram asked to wait %s s; all sending paused, message %s requeued",
                exc.retry_after,
                row.id,
            )
            await self._requeue(row, self.clock.now(), row.attempts, f"429: {exc}")
        except ChatUnreachable as exc:
            if row.chat_user_id is not None:
                self._unreachable.add(row.chat_user_id)
            log.info("chat %s is unreachable (%s); not writing to it again", row.chat_id, exc)
            await self._finish(row, OutboxStatus.FAILED, f"chat unreachable: {exc}")
        except MessageRejected as exc:
            log.warning("Telegram refused outbox message %s: %s", row.id, exc)
            await self._finish(row, OutboxStatus.DEAD, f"refused: {exc}")
        except Exception as exc:  # TransientSendError, or anything a messenger let through
            await self._retry_or_bury(row, exc)
        else:
            async with self.uow_factory() as uow:
                await uow.outbox.mark_sent(row.id, self.clock.now(), sent_id)
                await uow.commit()
            self.stats.sent += 1

    async def _send(
        self, row: OutboxMessage, chat_id: str, text: str, buttons: Buttons
    ) -> str | None:
        """One row through the messenger, in its subject's topic when it has one."""
        extras: dict[str, str] = {}
        if row.photo_file_id is not None:
            extras["photo_file_id"] = row.photo_file_id
        if row.topic is None:
            return await self._call(chat_id, text, row.photo, buttons, extras)
        # One message of a subject at a time: the first opens the forum topic, or, in a group
        # without topics, becomes the message the next ones reply to; they must wait for it.
        # (One sender runs at a time, see DeliveryService, so a lock in this process suffices.)
        key = (chat_id, row.topic)
        lock = self._topic_locks.setdefault(key, asyncio.Lock())
        self._topic_users[key] = self._topic_users.get(key, 0) + 1
        try:
            async with lock:
                topic = await self._topic(row, chat_id)
                if topic.thread_id is not None:
                    extras["thread_id"] = topic.thread_id
                elif topic.anchor_message_id is not None:
                    extras["reply_to"] = topic.anchor_message_id
                sent = await self._call(chat_id, text, row.photo, buttons, extras)
                if sent is not None and topic.anchor_message_id is None:
                    async with self.uow_factory() as uow:
                        await uow.outbox.set_topic_anchor(chat_id, row.topic, sent)
                        await uow.commit()
                return sent
        finally:
            self._topic_users[key] -= 1
            if not self._topic_users[key]:
                del self._topic_users[key], self._topic_locks[key]

    async def _call(
        self,
        chat_id: str,
        text: str,
        photo: bytes | None,
        buttons: Buttons,
        extras: dict[str, str],
    ) -> str | None:
        if not extras:  # the plain call every messenger takes
            return await self.messenger.send_text(chat_id, text, photo, buttons)
        return await self.messenger.send_text(chat_id, text, photo, buttons, **extras)

    async def _topic(self, row: OutboxMessage, chat_id: str) -> ChatTopic:
        """Where the row's subject lives in the chat; its forum topic is opened on first use."""
        assert row.topic is not None
        async with self.uow_factory() as uow:
            known = await uow.outbox.topic(chat_id, row.topic)
        if known is not None:
            return known
        thread = await self.messenger.create_topic(chat_id, row.topic_title or row.topic)
        async with self.uow_factory() as uow:
            saved = await uow.outbox.save_topic(
                ChatTopic(chat_id, row.topic, thread, None), self.clock.now()
            )
            await uow.commit()
        if thread is not None:
            log.info("opened forum topic %s for %s in chat %s", thread, row.topic, chat_id)
        return saved

    async def _retry_or_bury(self, row: OutboxMessage, exc: Exception) -> None:
        assert row.id is not None
        attempts = row.attempts + 1
        reason = f"{type(exc).__name__}: {exc}"
        if attempts >= self.policy.delivery.max_attempts:
            log.warning("outbox message %s dead after %d attempts: %s", row.id, attempts, reason)
            async with self.uow_factory() as uow:
                await uow.outbox.reschedule(
                    row.id,
                    OutboxStatus.DEAD,
                    self.clock.now(),
                    attempts=attempts,
                    error=f"gave up after {attempts} attempts: {reason}",
                )
                await uow.commit()
            self.stats.dead += 1
            return
        later = self.clock.now() + backoff(attempts, self.policy.delivery)
        log.info("outbox message %s failed (%s); retry %d at %s", row.id, reason, attempts, later)
        await self._requeue(row, later, attempts, reason)
        self.stats.retried += 1

    async def _requeue(self, row: OutboxMessage, at: datetime, attempts: int, error: str) -> None:
        assert row.id is not None
        async with self.uow_factory() as uow:
            await uow.outbox.reschedule(
                row.id, OutboxStatus.PENDING, at, attempts=attempts, error=error
            )
            await uow.commit()

    async def _finish(self, row: OutboxMessage, status: OutboxStatus, reason: str) -> None:
        assert row.id is not None
        async with self.uow_factory() as uow:
            if status is OutboxStatus.FAILED and row.chat_user_id is not None:
                await uow.outbox.mark_chat_unreachable(row.chat_user_id)
            await uow.outbox.finish(row.id, status, reason, self.clock.now())
            await uow.commit()
        if status is OutboxStatus.FAILED:
            self.stats.failed += 1
        elif status is OutboxStatus.DEAD:
            self.stats.dead += 1

    # -- bookkeeping ------------------------------------------------------------------------

    async def _record_start(self) -> None:
        async with self.uow_factory() as uow:
            await uow.jobs.record_start(JOB_NAME, self.clock.now())
            await uow.commit()

    async def _report(self, delta: SenderStats) -> None:
        try:
            async with self.uow_factory() as uow:
                await uow.jobs.record_finish(
                    JOB_NAME, self.clock.now(), True, f"running; lately: {delta.summary()}"
                )
                await uow.commit()
        except Exception:  # a report is not worth stopping delivery for
            log.warning("could not record the sender's progress", exc_info=True)


def _copy(stats: SenderStats) -> SenderStats:
    return SenderStats(**{f.name: getattr(stats, f.name) for f in fields(stats)})

