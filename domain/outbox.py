"""The outbox: proactive messages queued in the same transaction as the change they announce.

Nothing in the business sends a message itself. A use case queues an `OutboxMessage` with a
dedupe key (`birthday:2027:member:42`): queueing it again changes nothing. The sender in
scheduler/ delivers the outbox under the rules decided here: consent, opt-out, the frequency
cap and quiet hours, with retries and a dead letter for what cannot be delivered.

Which rows wait for quiet hours to end is decided per row (`quiet_hours`):
- marketing always waits, and needs consent and no opt-out, and obeys the weekly cap;
- proactive service messages nobody asked for at that moment (birthday greeting, coupon expiry
  reminder) also wait for the member's allowed hours, but ignore the cap and consent (they
  concern what the member holds); they are not queued at all for members who sent /stop;
- answers a member is waiting for (a requested code, a ticket reply) go at once, day or night.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.policy import DeliveryPolicy
from domain.ports import UnitOfWork

CAP_WINDOW = timedelta(days=7)


class MessageKind(enum.StrEnum):
    SERVICE = "service"
    MARKETING = "marketing"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next_attempt_at
    DEFERRED = "deferred"  # held for quiet hours until next_attempt_at
    SENDING = "sending"  # handed to the messenger; committed before the call
    SENT = "sent"
    FAILED = "failed"  # the chat cannot be reached (blocked, deleted)
    DEAD = "dead"  # gave up after retries, or the message itself was refused
    UNKNOWN = "unknown"  # was `sending` when the sender died: maybe delivered, never resent
    SKIPPED = "skipped"  # not sent by rule: no consent, opted out, frequency cap


WAITING = (OutboxStatus.PENDING, OutboxStatus.DEFERRED)


@dataclass
class OutboxMessage:
    """One message to one chat: a message key translated when sent, or text as is."""

    dedupe_key: str
    chat_id: str
    kind: MessageKind
    member_id: int | None = None
    chat_user_id: int | None = None
    message_key: str | None = None
    # Values for the message's placeholders; a {"en": ..., "zh": ...} value is picked by the
    # chat's language when the message is sent.
    params: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    photo: bytes | None = None
    photo_file_id: str | None = None  # a photo the messenger already has (relayed by its id)
    # Rows of inline buttons: {"key": message key, "data": callback data} or {"text": ...}.
    buttons: list[list[dict[str, str]]] = field(default_factory=list)
    quiet_hours: bool = False
    # Messages of one subject in a group chat ("ticket:42") share a topic: a forum topic made
    # on first use and titled `topic_title`, or, in a group without topics, replies to the
    # subject's first message. See ChatTopic.
    topic: str | None = None
    topic_title: str | None = None
    language: str | None = None  # for chats with no member or chat account (the staff group)
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    created_at: datetime | None = None
    sent_at: datetime | None = None
    sent_message_id: str | None = None  # the chat's id of the message, once sent
    id: int | None = None

    def __post_init__(self) -> None:
        if (self.message_key is None) == (self.text is None):
            raise ValueError("an outbox message has either a message key or a text, not both")
        if self.kind is MessageKind.MARKETING:
            self.quiet_hours = True  # marketing never goes out at night


@dataclass(frozen=True)
class ChatTarget:
    """The chat a member is reached in."""

    chat_user_id: int
    chat_id: str


@dataclass(frozen=True)
class ChatTopic:
    """Where the messages of one subject go in a group chat.

    In a forum group the sender opens a topic the first time a subject's message goes out
    (`thread_id`); in a plain group `thread_id` stays None and later messages reply to the
    subject's first one (`anchor_message_id`). Either way a message someone writes in the
    topic, or in reply to one of the subject's messages, leads back to the subject.
    """

    chat_id: str
    topic: str
    thread_id: str | None
    anchor_message_id: str | None


async def queue_message(uow: UnitOfWork, message: OutboxMessage, now: datetime) -> bool:
    """Queue `message` in the caller's transaction; False when its dedupe key was queued before."""
    message.created_at = message.created_at or now
    message.next_attempt_at = message.next_attempt_at or now
    return await uow.outbox.add(message)


# -- the rules the sender applies -----------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """What the sender knows about the chat and member of a row, read just before sending."""

    chat_id: str
    language: str
    reachable: bool = True
    marketing_consent: bool = False
    opted_out: bool = False
    timezone: str | None = None  # the member's store's zone; None: the chain's
    marketing_sent_7d: int = 0


class Action(enum.StrEnum):
    SEND = "send"
    DEFER = "defer"
    SKIP = "skip"
    FAIL = "fail"


@dataclass(frozen=True)
class Decision:
    action: Action
    until: datetime | None = None  # for DEFER
    reason: str = ""


def decide(
    message: OutboxMessage,
    recipient: Recipient,
    delivery: DeliveryPolicy,
    now: datetime,
    chain_timezone: str,
) -> Decision:
    """Whether a due row goes out now, waits for the end of quiet hours, or is not sent."""
    if not recipient.reachable:
        return Decision(Action.FAIL, reason="chat unreachable (blocked or deleted)")
    if message.kind is MessageKind.MARKETING:
        if recipient.opted_out or not recipient.marketing_consent:
            return Decision(Action.SKIP, reason="no marketing consent")
        if recipient.marketing_sent_7d >= delivery.marketing_per_7_days:
            return Decision(
                Action.SKIP,
                reason=f"frequency cap: {recipient.marketing_sent_7d} marketing messages "
                f"in 7 days (cap {delivery.marketing_per_7_days})",
            )
    if message.quiet_hours:
        until = quiet_until(
            now, recipient.timezone or chain_timezone, delivery.quiet_start, delivery.quiet_end
        )
        if until is not None:
            return Decision(Action.DEFER, until=until, reason="quiet hours")
    return Decision(Action.SEND)


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether a local time of day falls in [start, end), a window that may span midnight."""
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(
    now: datetime, tz: str, start: time | None, end: time | None
) -> datetime | None:
    """The moment quiet hours end in zone `tz`, or None when it is not quiet now."""
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    if not in_quiet_hours(local.time().replace(tzinfo=None), start, end):
        return None
    day = local.date()
    if local.time().replace(tzinfo=None) >= end:
        day = day + timedelta(days=1)  # evening part of a window spanning midnight
    # combine() with a zone gives the wall-clock time; a DST gap moves it forward by the gap.
    return datetime.combine(day, end, tzinfo=zone)


def backoff(attempts: int, delivery: DeliveryPolicy) -> timedelta:
    """Delay before retry number `attempts` (1-based): doubling, capped."""
    seconds = delivery.backoff_seconds * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(seconds, delivery.backoff_max_seconds))


def localise_params(params: dict[str, Any], lang: str) -> dict[str, Any]:
    """Placeholders for one language: {"en": ..., "zh": ...} values are picked by `lang`."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, dict) and ("en" in value or "zh" in value):
            out[name] = value.get(lang, value.get("en", ""))
        else:
            out[name] = value
    return out
