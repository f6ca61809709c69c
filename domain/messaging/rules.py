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

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from domain.messaging.model import Action, Decision, MessageKind, OutboxMessage, Recipient

if TYPE_CHECKING:
    from domain.messaging.policy import DeliveryPolicy

CAP_WINDOW = timedelta(days=7)


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


# -- the order and pace of sending ------------------------------------------------------------

# Rows whose message key starts with one of these go before every other due row: in a busy staff
# group (20 messages a minute) an SLA breach must not wait behind routine notices.
URGENT_KEY_PREFIXES = ("desk.sla_breach.",)


def is_urgent(message: OutboxMessage) -> bool:
    """Whether the row jumps the queue (an SLA breach alert)."""
    return message.message_key is not None and message.message_key.startswith(
        URGENT_KEY_PREFIXES
    )


def is_group_chat(chat_id: str) -> bool:
    """Telegram's group, supergroup and channel ids are negative; people's chats positive."""
    return chat_id.startswith("-")
