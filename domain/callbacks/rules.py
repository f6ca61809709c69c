"""Pure decisions of callbacks: which rule wins, when a callback is due, what a button says,
what staff type as a time, and how a CSV cell is written safely."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from domain.callbacks.model import Callback, Outcome, Reason, Rule
from domain.shared.clock import local_day
from domain.shared.text import parse_id

if TYPE_CHECKING:
    from domain.callbacks.policy import CallbackPolicy

# Button data: "cb:<answer>:<callback id>[:<reason>]" for the member's check-in,
# "cl:<action>:<callback id>" for the staff's call queue. Both stay far below 64 bytes.
CHECKIN_PREFIX = "cb"
CALLS_PREFIX = "cl"
CHECKIN_ANSWERS = {"ok": Outcome.ALL_GOOD, "pb": Outcome.PROBLEM, "rs": Outcome.REASON}
STAFF_ACTIONS = {
    "ok": Outcome.ALL_GOOD,
    "pb": Outcome.PROBLEM,
    "na": Outcome.NO_ANSWER,
    "wn": Outcome.WRONG_NUMBER,
    "ag": Outcome.CALL_AGAIN,
    "dnc": Outcome.DO_NOT_CALL,
}
ACTION_OF = {outcome: action for action, outcome in STAFF_ACTIONS.items()}
# The ticket category a one-tap reason points at, when the member then reports a problem.
REASON_CATEGORY = {Reason.QUALITY: "quality", Reason.SERVICE: "service", Reason.PRICES: "billing"}


@dataclass(frozen=True)
class Admission:
    """Whether a new callback may be made, and which open ones it replaces."""

    allowed: bool
    supersedes: tuple[int, ...] = ()
    why: str = ""


def admit(
    rule: Rule, recent: Iterable[Callback], policy: CallbackPolicy, now: datetime
) -> Admission:
    """At most one callback of any kind per member in `min_days_between` days; a rule of higher
    priority (a smaller number) still goes ahead, and an open callback of lower priority gives
    way to it. `recent` are the member's callbacks made in the window."""
    mine = policy.rule(rule).priority
    since = now - timedelta(days=policy.min_days_between)
    replaced: list[int] = []
    for other in recent:
        if other.created_at < since or other.outcome is Outcome.SUPERSEDED:
            continue
        theirs = policy.rule(other.rule).priority
        if theirs <= mine:
            return Admission(False, why=f"{other.rule.value} callback {other.number} within "
                             f"{policy.min_days_between} days")
        if other.is_open and other.id is not None:
            replaced.append(other.id)
    return Admission(True, tuple(replaced))


def rule_for_ticket(tags: Sequence[str]) -> Rule:
    """A survey detractor's recovery ticket is tagged "survey"; every other is a complaint."""
    return Rule.DETRACTOR if "survey" in tags else Rule.COMPLAINT


def is_high_value(
    policy: CallbackPolicy, *, tier: str, high_value: bool, churn_flag: bool, m: int | None = None
) -> bool:
    """Valuable enough for a gone-quiet call: the segments' own verdict, a listed tier, a high
    monetary score, or the churn flag when the policy counts it."""
    if high_value or tier in policy.high_value_tiers:
        return True
    if policy.high_value_min_m and m is not None and m >= policy.high_value_min_m:
        return True
    return policy.churn_flag and churn_flag


def local_due(day: date, policy: CallbackPolicy, tz: str) -> datetime:
    """`due_time` on a local calendar day of zone `tz` (a DST gap moves it forward)."""
    return datetime.combine(day, policy.due_time, tzinfo=ZoneInfo(tz))


def new_member_due(
    first_purchase: datetime, days: int, policy: CallbackPolicy, tz: str
) -> datetime:
    """The morning `days` local days after the first purchase, in the store's zone: a purchase
    at 23:30 in Shanghai on the 1st is called about on the 8th at 10:00 Shanghai time."""
    return local_due(local_day(first_purchase, tz) + timedelta(days=days), policy, tz)


def after_no_answer(callback: Callback, policy: CallbackPolicy, now: datetime) -> datetime | None:
    """When to try again after a call nobody answered; None when the attempts are used up."""
    if callback.attempts >= policy.max_attempts:
        return None
    return now + timedelta(hours=policy.retry_hours)


def overdue_stage(callback: Callback, policy: CallbackPolicy, now: datetime) -> str | None:
    """The overdue reminder due now and not yet sent: "assignee" first, then "managers"."""
    late = now - callback.due_at
    if late >= timedelta(hours=policy.escalate_after_hours) and callback.reminded != "managers":
        return "managers"
    if late >= timedelta(hours=policy.remind_after_hours) and callback.reminded == "":
        return "assignee"
    return None


def overdue_hours(callback: Callback, now: datetime) -> int:
    return max(0, int((now - callback.due_at).total_seconds() // 3600))


def checkin_buttons(callback: Callback) -> list[list[dict[str, str]]]:
    """The check-in's quick answers; the gone-quiet one adds a reason in one tap."""
    assert callback.id is not None
    rows = [
        [{"key": "callbacks.checkin.ok_button", "data": f"{CHECKIN_PREFIX}:ok:{callback.id}"}],
        [{"key": "callbacks.checkin.problem_button",
          "data": f"{CHECKIN_PREFIX}:pb:{callback.id}"}],
    ]
    if callback.rule is Rule.GONE_QUIET:
        reasons = [
            {"key": f"callbacks.reason.{r.value}",
             "data": f"{CHECKIN_PREFIX}:rs:{callback.id}:{r.value}"}
            for r in Reason
        ]
        rows.extend(reasons[i : i + 2] for i in range(0, len(reasons), 2))
    return rows


def parse_checkin(data: str) -> tuple[Outcome, int, Reason | None] | None:
    """("cb:rs:12:prices") -> (REASON, 12, PRICES); None for anything made up."""
    parts = data.split(":")
    if len(parts) not in (3, 4) or parts[0] != CHECKIN_PREFIX:
        return None
    callback_id = parse_id(parts[2])
    if callback_id is None:
        return None
    outcome = CHECKIN_ANSWERS.get(parts[1])
    if outcome is None:
        return None
    reason = None
    if outcome is Outcome.REASON:
        if len(parts) != 4 or parts[3] not in {r.value for r in Reason}:
            return None
        reason = Reason(parts[3])
    elif len(parts) != 3:
        return None
    return outcome, callback_id, reason


def problem_category(callback: Callback, reason: Reason | None, categories: Sequence[str]) -> str:
    """Where a reported problem goes: the complaint's own category, the category a one-tap
    reason points at, else the policy's last category ("other")."""
    wanted = callback.category or (REASON_CATEGORY.get(reason) if reason else None) or ""
    return wanted if wanted in categories else categories[-1]


_WHEN = re.compile(
    r"^\s*(?:(?P<date>\d{4}-\d{1,2}-\d{1,2})|(?P<word>today|tomorrow|今天|明天))?\s*"
    r"(?P<hour>\d{1,2})[:：](?P<minute>\d{2})\s*$",
    re.IGNORECASE,
)


def parse_when(text: str, tz: str, now: datetime) -> datetime | None:
    """What staff type for "call again": "2026-06-16 15:00", "tomorrow 10:00", "明天 10:00" or
    "15:00" (today), in zone `tz`; None when it is not such a time or not in the future."""
    found = _WHEN.match(text)
    if found is None:
        return None
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    day = today
    if found.group("date"):
        try:
            day = date.fromisoformat("-".join(f"{int(p):02d}" for p in
                                              found.group("date").split("-")))
        except ValueError:
            return None
    elif (found.group("word") or "").lower() in ("tomorrow", "明天"):
        day = today + timedelta(days=1)
    hour, minute = int(found.group("hour")), int(found.group("minute"))
    if hour > 23 or minute > 59:
        return None
    moment = datetime.combine(day, time(hour, minute), tzinfo=zone)
    return moment if moment > now else None


def call_list_cell(value: object) -> str:
    """A cell of the call list: one line of text (control characters but tab dropped), so a
    call stays one line for whoever edits the file; formulas are the CSV writer's concern."""
    text = "" if value is None else str(value)
    return "".join(ch for ch in text if ch == "\t" or ch >= " ")

