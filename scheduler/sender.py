"""The outbox sender: delivers queued messages at a safe pace, exactly once or reported `unknown`.

Life of a row: `pending` (or `deferred` for quiet hours) until due. The sender claims a batch of
due rows in one transaction: it applies the rules of domain.messaging.rules.decide (consent,
/stop, frequency cap, quiet hours, reachability) and marks the rows that may go `sending`, at most
one per chat. Consent and /stop are read again for the whole batch then (a few queries, not one
per row), not trusted from when the row was queued: a member who sends /stop at 22:00 does not
get at 09:00 the greeting or offer that waited for the morning (`skipped`, with the reason).
Their sends then run concurrently, paced by scheduler/ratelimit.py; their results are written
in batches (every sent row of a batch in one statement). If the process dies before a
result is written nobody knows whether Telegram got the message: at start-up such rows become
`unknown` and are never sent again, because a duplicate birthday greeting or a second "your
code is ..." is worse than an operator looking at a short list of unknowns. The rows `sending`
at any moment are at most the claim window (`claim_window`), so that list stays short.

Failures: 429 pauses all sending for `retry_after` and the row goes back to the queue as it was;
403 marks the chat user unreachable (until they write again) and the row `failed`; a refused
message (400) is `dead` at once; anything else is retried with doubling back-off and is `dead`
after `max_attempts`. Each outcome keeps its reason in `last_error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from domain.messaging.model import (
    EDIT_OF_PARAM,
    WAITING,
    Action,
    ChatTopic,
    OutboxMessage,
    OutboxStatus,
    Recipient,
)
from domain.messaging.ports import (
    Buttons,
    ChatUnreachable,
    MessageRejected,
    Messenger,
    RateLimited,
    TransientSendError,
)
from domain.messaging.rules import backoff, decide, localise_params
from scheduler.ratelimit import RateLimiter

if TYPE_CHECKING:
    from domain.shared.clock import Clock
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

JOB_NAME = "outbox-sender"
REPORT_EVERY = 60.0  # seconds between summaries in job_runs while the loop runs
MAX_EXCLUDED = 500  # chats a claim query leaves out by name (busy or waiting for their turn)
FLUSH_AFTER = 0.05  # seconds a finished send's result may wait to be written with others
FLUSH_RETRY = 0.5  # seconds before writing results again after the database refused them


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
    postponed: int  # due, but their chat had a message too recently
    idle: float  # how long to wait before the next pass is worth it


@dataclass(frozen=True)
class Outcome:
    """How one claimed row ended, kept until the next batch of results is written."""

    row: OutboxMessage
    chat_id: str
    status: OutboxStatus  # SENT; PENDING (try again at `at`); FAILED; DEAD
    at: datetime
    sent_message_id: str | None = None
    attempts: int | None = None  # set: the row is rescheduled with this count
    error: str = ""
    unreachable: bool = False  # the chat user blocked the bot


def claim_window(rate_per_second: float) -> int:
    """The most rows `sending` at once: about half a second of sending, 16 to 256 rows.

    It bounds what a crash can leave `unknown`; it must hold enough rows that the limiter never
    waits for the next claim (a claim and a flush take some milliseconds each)."""
    return max(16, min(256, math.ceil(rate_per_second / 2)))


class OutboxSender:
    """Delivers due outbox rows through a Messenger; one per database (see DeliveryService).

    A pass writes the results of the sends finished since the last pass (one transaction, the
    sent rows in one statement), then, when the window has room, claims the next due rows (one
    transaction: read them and their recipients, apply the rules, mark the sendable ones
    `sending`) and starts their sends, which run concurrently under the limiter. At most one
    row per chat is claimed and not yet written, so a chat's messages keep their order.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        messenger: Messenger,
        policy: Policy,
        clock: Clock,
        translate: Translate,
        *,
        max_in_flight: int = 32,
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
        self.limiter = limiter or RateLimiter(
            delivery.rate_per_second,
            delivery.per_chat_interval,
            group_per_minute=delivery.group_per_minute,
        )
        self.window = batch_size or claim_window(delivery.rate_per_second)
        self.poll_interval = poll_interval
        self.stats = SenderStats()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._claimed: dict[int, str] = {}  # row id -> chat, claimed and not yet written
        self._outcomes: list[Outcome] = []
        self._first_outcome = 0.0  # loop time of the oldest outcome not yet written
        # Results are written a few at a time: one transaction for every ~eighth of the window.
        self._flush_at = max(1, self.window // 8)
        self._progress = asyncio.Event()  # a send finished
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
                if self._claimed:
                    await self._await_progress(self.poll_interval)
                elif done.started == 0:
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
            if self._claimed:
                await self._await_progress(min(1.0, max(0.01, deadline - loop.time())))
                continue
            if done.started:
                continue
            if not done.postponed:
                break  # nothing due at all
            await asyncio.sleep(done.idle)  # only rows waiting for their chat's next turn
        await self.wait_in_flight()
        return self.stats

    async def wait_in_flight(self) -> None:
        """Let the sends under way finish, and write their results."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._flush()

    async def _await_progress(self, seconds: float) -> None:
        if len(self._outcomes) < self._flush_at:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), min(seconds, FLUSH_AFTER))
        self._progress.clear()

    # -- one pass ---------------------------------------------------------------------------

    async def step(self) -> Pass:
        """Write the results so far, then claim and start what the window has room for."""
        if self._outcomes and (
            len(self._outcomes) >= self._flush_at
            or not self._tasks
            or asyncio.get_running_loop().time() - self._first_outcome >= FLUSH_AFTER
        ):
            await self._flush()
        room = self.window - len(self._claimed)
        if room < max(1, self.window // 4):
            return Pass(0, 0, self.poll_interval)  # wait for sends to finish first
        now = self.clock.now()
        claimed, postponed, waits = await self._claim(room, now)
        for row, recipient, text, buttons in claimed:
            task = asyncio.create_task(self._deliver(row, recipient, text, buttons))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        idle = min(waits) if waits else self.poll_interval
        return Pass(len(claimed), postponed, max(idle, 0.01))

    async def _claim(
        self, room: int, now: datetime
    ) -> tuple[list[tuple[OutboxMessage, Recipient, str, Buttons]], int, list[float]]:
        """One transaction: the due rows, their recipients, the rules, and `sending` marks."""
        busy = set(self._claimed.values())
        cooling = [chat for chat in self.limiter.waiting_chats() if chat not in busy]
        skip = sorted(busy) + cooling[: max(0, MAX_EXCLUDED - len(busy))]
        chosen: list[tuple[OutboxMessage, Recipient]] = []
        waits: list[float] = []
        async with self.uow_factory() as uow:
            rows = await uow.outbox.due(now, room * 2, except_chats=skip)
            if not rows:
                # Nothing else is due; rows of the chats left out wait for their turn.
                later = await uow.outbox.due_chats(now, cooling) if cooling else set()
                return [], len(later), [self.limiter.chat_wait(chat) for chat in later]
            recipients = await uow.outbox.recipients(rows, now)
            uow_actions: list[Callable[[UnitOfWork], Awaitable[None]]] = []
            for row, recipient in self._apply_rules(rows, recipients, now, uow_actions):
                chat = recipient.chat_id
                wait = self.limiter.chat_wait(chat)
                if chat in busy or wait > 0:
                    waits.append(wait or self.limiter.per_chat_interval)
                    continue  # the chat's next turn; the row stays due for a later pass
                if len(chosen) >= room:
                    break
                busy.add(chat)
                chosen.append((row, recipient))
            for action in uow_actions:
                await action(uow)
            ids = [row.id for row, _ in chosen if row.id is not None]
            claimed = await uow.outbox.claim(ids, now) if ids else set()
            await uow.commit()
        started: list[tuple[OutboxMessage, Recipient, str, Buttons]] = []
        for row, recipient in chosen:
            if row.id not in claimed:  # another sender took it (should not happen while one leads)
                continue
            self._claimed[row.id] = recipient.chat_id
            text, buttons = self.render(row, recipient.language)
            started.append((row, recipient, text, buttons))
        return started, len(waits), waits

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._progress.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivering an outbox message failed", exc_info=task.exception())

    def _apply_rules(
        self,
        rows: list[OutboxMessage],
        recipients: dict[int, Recipient],
        now: datetime,
        actions: list[Callable[[UnitOfWork], Awaitable[None]]],
    ) -> list[tuple[OutboxMessage, Recipient]]:
        """The rows that may go now; what the others need is appended to `actions`."""
        sendable: list[tuple[OutboxMessage, Recipient]] = []
        for row in rows:
            row_id = row.id
            assert row_id is not None
            recipient = recipients[row_id]
            if row.chat_user_id is not None and row.chat_user_id in self._unreachable:
                actions.append(partial(_finish_now, row_id, OutboxStatus.FAILED,
                                       "chat unreachable (blocked)", now))
                self.stats.failed += 1
                continue
            decision = decide(row, recipient, self.policy.delivery, now, self.policy.timezone)
            if decision.action is Action.SEND:
                sendable.append((row, recipient))
            elif decision.action is Action.DEFER:
                assert decision.until is not None
                actions.append(partial(_defer, row_id, decision.until, decision.reason))
                self.stats.deferred += 1
            elif decision.action is Action.SKIP:
                actions.append(partial(_finish_now, row_id, OutboxStatus.SKIPPED,
                                       decision.reason, now))
                self.stats.skipped += 1
            else:
                actions.append(partial(_finish_now, row_id, OutboxStatus.FAILED,
                                       decision.reason, now))
                self.stats.failed += 1
        return sendable

    async def _flush(self) -> None:
        """Write the finished sends' results in one transaction."""
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        try:
            async with self.uow_factory() as uow:
                await uow.outbox.record_sent(
                    [
                        (o.row.id, o.at, o.sent_message_id)
                        for o in batch
                        if o.status is OutboxStatus.SENT and o.row.id is not None
                    ]
                )
                for o in batch:
                    assert o.row.id is not None
                    if o.status is OutboxStatus.SENT:
                        continue
                    if o.attempts is not None:
                        await uow.outbox.reschedule(
                            o.row.id, o.status, o.at, attempts=o.attempts, error=o.error
                        )
                        continue
                    if o.unreachable and o.row.chat_user_id is not None:
                        await uow.outbox.mark_chat_unreachable(o.row.chat_user_id)
                    await uow.outbox.finish(o.row.id, o.status, o.error, o.at)
                await uow.commit()
        except Exception:
            self._outcomes = batch + self._outcomes  # written with the next batch
            log.exception("could not record %d outbox result(s); trying again", len(batch))
            await asyncio.sleep(FLUSH_RETRY)
            return
        for o in batch:
            if o.row.id is not None:
                self._claimed.pop(o.row.id, None)

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

    async def _deliver(
        self, row: OutboxMessage, recipient: Recipient, text: str, buttons: Buttons
    ) -> None:
        """Send one claimed row within the limits; its outcome waits for the next flush."""
        assert row.id is not None
        async with self._slots, self.limiter.slot(recipient.chat_id):
            outcome = await self._attempt(row, recipient, text, buttons)
        if not self._outcomes:
            self._first_outcome = asyncio.get_running_loop().time()
        self._outcomes.append(outcome)

    async def _attempt(
        self, row: OutboxMessage, recipient: Recipient, text: str, buttons: Buttons
    ) -> Outcome:
        chat = recipient.chat_id
        try:
            edit_of = row.params.get(EDIT_OF_PARAM)
            if edit_of is not None:
                sent_id = await self._edit(row, str(edit_of), text, buttons, recipient.language)
            else:
                sent_id = await self._send(row, chat, text, buttons)
        except RateLimited as exc:
            self.limiter.pause(exc.retry_after)
            self.stats.rate_limited += 1
            log.warning(
                "Telegram asked to wait %s s; all sending paused, message %s requeued",
                exc.retry_after,
                row.id,
            )
            return Outcome(row, chat, OutboxStatus.PENDING, self.clock.now(),
                           attempts=row.attempts, error=f"429: {exc}")
        except ChatUnreachable as exc:
            if row.chat_user_id is not None:
                self._unreachable.add(row.chat_user_id)
            log.info("chat %s is unreachable (%s); not writing to it again", row.chat_id, exc)
            self.stats.failed += 1
            return Outcome(row, chat, OutboxStatus.FAILED, self.clock.now(),
                           error=f"chat unreachable: {exc}", unreachable=True)
        except MessageRejected as exc:
            log.warning("Telegram refused outbox message %s: %s", row.id, exc)
            self.stats.dead += 1
            return Outcome(row, chat, OutboxStatus.DEAD, self.clock.now(),
                           error=f"refused: {exc}")
        except Exception as exc:  # TransientSendError, or anything a messenger let through
            return self._retry_or_bury(row, chat, exc)
        self.stats.sent += 1
        return Outcome(row, chat, OutboxStatus.SENT, self.clock.now(), sent_message_id=sent_id)

    async def _edit(
        self, row: OutboxMessage, edit_of: str, line: str, buttons: Buttons, lang: str
    ) -> str | None:
        """Edit the message row `edit_of` became: its text, then `line`; `buttons` replace its
        buttons. Waits (retries) while that row is not sent yet; nothing to do if it never
        will be."""
        async with self.uow_factory() as uow:
            original = await uow.outbox.get_by_dedupe_key(edit_of)
        if original is None or original.sent_message_id is None:
            if original is not None and (
                original.status in WAITING or original.status is OutboxStatus.SENDING
            ):
                raise TransientSendError("the message to edit is not sent yet")
            log.info("outbox message %s has nothing to edit; done", row.id)
            return None
        text, _ = self.render(original, lang)
        await self.messenger.edit_text(
            original.chat_id, original.sent_message_id, f"{text}\n\n{line}", buttons
        )
        return original.sent_message_id

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

    def _retry_or_bury(self, row: OutboxMessage, chat: str, exc: Exception) -> Outcome:
        attempts = row.attempts + 1
        reason = f"{type(exc).__name__}: {exc}"
        now = self.clock.now()
        if attempts >= self.policy.delivery.max_attempts:
            log.warning("outbox message %s dead after %d attempts: %s", row.id, attempts, reason)
            self.stats.dead += 1
            return Outcome(row, chat, OutboxStatus.DEAD, now, attempts=attempts,
                           error=f"gave up after {attempts} attempts: {reason}")
        later = now + backoff(attempts, self.policy.delivery)
        log.info("outbox message %s failed (%s); retry %d at %s", row.id, reason, attempts, later)
        self.stats.retried += 1
        return Outcome(row, chat, OutboxStatus.PENDING, later, attempts=attempts, error=reason)

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



async def _defer(row_id: int, until: datetime, reason: str, uow: UnitOfWork) -> None:
    await uow.outbox.reschedule(row_id, OutboxStatus.DEFERRED, until, error=reason)


async def _finish_now(
    row_id: int, status: OutboxStatus, reason: str, now: datetime, uow: UnitOfWork
) -> None:
    await uow.outbox.finish(row_id, status, reason, now)
