"""The [delivery] section of retailbot.toml: rate, quiet hours, caps, retries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from domain.shared.errors import PolicyError
from domain.shared.policy_values import parse_clock_time, positive_number, whole_number


@dataclass(frozen=True)
class DeliveryPolicy:
    """How fast and when proactive messages go out (see scheduler/sender.py)."""

    rate_per_second: float = 25.0  # all chats together; Telegram allows about 30
    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    group_per_minute: float = 20.0  # messages to one group chat in any minute (Telegram: 20)
    quiet_start: time | None = time(21, 0)  # local time of the member's store
    quiet_end: time | None = time(9, 0)
    marketing_per_7_days: int = 2  # frequency cap per member, rolling 7 days
    max_attempts: int = 5  # transient failures before a message is dead-lettered
    backoff_seconds: float = 30.0  # first retry delay; doubles each attempt
    backoff_max_seconds: float = 3600.0
    coupon_reminder_days: int = 3  # remind this many days before a coupon expires


def delivery_policy_from_mapping(spec: Mapping[str, Any]) -> DeliveryPolicy:
    """Read [delivery] of the policy file; raise PolicyError naming the key that is wrong."""
    quiet = str(spec.get("quiet_hours", "21:00-09:00")).strip()
    quiet_start: time | None = None
    quiet_end: time | None = None
    if quiet:
        if quiet.count("-") != 1:
            raise PolicyError(
                f"delivery.quiet_hours must look like \"21:00-09:00\" (or \"\" for none), "
                f"not {quiet!r}"
            )
        start, end = quiet.split("-")
        quiet_start = parse_clock_time(start, "delivery.quiet_hours")
        quiet_end = parse_clock_time(end, "delivery.quiet_hours")
        if quiet_start == quiet_end:
            quiet_start = quiet_end = None  # an empty window: no quiet hours
    backoff = positive_number(spec.get("backoff_seconds", 30), "delivery.backoff_seconds")
    return DeliveryPolicy(
        rate_per_second=positive_number(
            spec.get("rate_per_second", 25), "delivery.rate_per_second"
        ),
        per_chat_interval=positive_number(
            spec.get("per_chat_interval_seconds", 1), "delivery.per_chat_interval_seconds"
        ),
        group_per_minute=positive_number(
            spec.get("group_messages_per_minute", 20), "delivery.group_messages_per_minute"
        ),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        marketing_per_7_days=whole_number(
            spec.get("marketing_per_7_days", 2), "delivery.marketing_per_7_days", 0
        ),
        max_attempts=whole_number(spec.get("max_attempts", 5), "delivery.max_attempts", 1),
        backoff_seconds=backoff,
        backoff_max_seconds=max(
            backoff,
            positive_number(
                spec.get("backoff_max_seconds", 3600), "delivery.backoff_max_seconds"
            ),
        ),
        coupon_reminder_days=whole_number(
            spec.get("coupon_reminder_days", 3), "delivery.coupon_reminder_days", 0
        ),
    )
