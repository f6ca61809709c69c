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

Who may be sent a message (`refusal`) is asked twice: when a feature queues it, and again when
the sender takes it, since a row can wait for hours (quiet hours, a campaign's local time) and
a /stop or a "no" in /privacy in the meantime must win.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from domain.messaging.model import Action, Decision, MessageKind, OutboxMessage, Recipient
from domain.privacy.model import Purpose

if TYPE_CHECKING:
    from collections.abc import Collection

    from domain.messaging.policy import DeliveryPolicy

CAP_WINDOW = timedelta(days=7)

# Why a row was not sent (its `last_error`, status `skipped`); the campaign report counts them.
NO_MARKETING_CONSENT = "no marketing consent"
SENT_STOP = "sent /stop"  # the campaigns' own word for it (domain.campaigns.model.OPTED_OUT)

# Service messages nobody asked for (they wait for quiet hours to end) that /stop ends, by
# message key (a key ending in "." names the keys starting with it), each with the purpose
# whose "no" in /privacy ends it too. The features queueing them leave such members out then
# (coupons: greeting and expiry reminder; surveys: the invitation; callbacks: the check-in).
# Not here, so sent whatever the member said: answers they wait for and their own ticket's
# messages (replies, reminders, follow-ups), as when they are queued.
UNASKED_FOR: Mapping[str, Purpose | None] = MappingProxyType({
    "birthday.greeting": None,
    "coupons.expiry_reminder": None,
    "surveys.invite": Purpose.SURVEYS,
    "callbacks.checkin.": None,
})


def refusal(
    message: OutboxMessage,
    *,
    marketing_consent: bool,
    opted_out: bool,
    refused: Collection[Purpose] = (),
) -> str | None:
    """Why the member may not be sent `message`, or None when they may.

    Marketing needs consent and no /stop. A service message nobody asked for at that moment
    (it waits for quiet hours to end) and listed in `UNASKED_FOR` needs no /stop and no "no" to
    its purpose. Anything else may always go. `refused` are the purposes the member said no
    to."""
    return refusal_for(
        message.kind,
        message.message_key,
        quiet_hours=message.quiet_hours,
        marketing_consent=marketing_consent,
        opted_out=opted_out,
        refused=refused,
    )


def refusal_for(
    kind: MessageKind,
    message_key: str | None,
    *,
    quiet_hours: bool,
    marketing_consent: bool,
    opted_out: bool,
    refused: Collection[Purpose] = (),
) -> str | None:
    """`refusal` asked before the message is built: what a feature knows when it decides whether
    to queue one (its kind, message key and whether it waits for quiet hours; marketing always
    waits) and what it knows of the member. The features queueing unasked-for messages ask this
    so that they leave out the same members the sender would skip."""
    if kind is MessageKind.MARKETING and (opted_out or not marketing_consent):
        return NO_MARKETING_CONSENT
    if not (quiet_hours or kind is MessageKind.MARKETING):
        return None  # an answer the member is waiting for
    unasked, purpose = _unasked_for(message_key)
    if unasked and opted_out:
        return SENT_STOP
    if purpose is not None and purpose in refused:
        return f"no {purpose.value} consent"
    return None


def refusal_of_unasked(
    kind: MessageKind,
    message_key: str,
    *,
    opted_out_at: datetime | None,
    marketing_consent: bool = False,
    refused: Collection[Purpose] = (),
) -> str | None:
    """`refusal_for` a message nobody asked for now (it waits for quiet hours: a greeting, a
    reminder, an invitation, a check-in), as a feature asks it of a member before queueing
    one; `marketing_consent` matters to marketing only."""
    return refusal_for(
        kind,
        message_key,
        quiet_hours=True,
        marketing_consent=marketing_consent,
        opted_out=opted_out_at is not None,
        refused=refused,
    )


def _unasked_for(message_key: str | None) -> tuple[bool, Purpose | None]:
    if message_key is None:
        return False, None
    for key, purpose in UNASKED_FOR.items():
        if message_key == key or (key.endswith(".") and message_key.startswith(key)):
            return True, purpose
    return False, None


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
    why_not = refusal(
        message,
        marketing_consent=recipient.marketing_consent,
        opted_out=recipient.opted_out,
        refused=recipient.refused,
    )
    if why_not is not None:
        return Decision(Action.SKIP, reason=why_not)
    if (
        message.kind is MessageKind.MARKETING
        and recipient.marketing_sent_7d >= delivery.marketing_per_7_days
    ):
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
