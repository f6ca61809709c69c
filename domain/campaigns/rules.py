"""Pure campaign decisions: reading a campaign file, who is held back, the message each member
reads, cron times, same-day priority, re-entry, and the uplift with its confidence interval."""

from __future__ import annotations

import hashlib
import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from domain.campaigns.model import (
    BUTTONS,
    FIELDS,
    Audience,
    CampaignError,
    CampaignMessage,
    CampaignSpec,
    GroupOutcome,
    Schedule,
    ScheduleKind,
    Trigger,
    Uplift,
)
from domain.shared.errors import PolicyError
from domain.shared.policy_values import parse_clock_time

if TYPE_CHECKING:
    from domain.shared.policy import Policy

MAX_TEXT = 1000  # characters of a message template: a caption holds 1024 after rendering
Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution
_FORMATTER = string.Formatter()


# -- reading a campaign file ----------------------------------------------------------------


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise CampaignError(f"{where} must be a list of names, not {value!r}")
    return tuple(str(v).strip() for v in value)


def _range(value: Any, where: str, kind: type) -> tuple[Any, Any]:
    """[min, max] with either end possibly left out as "" or absent: ["", 0.5], [30]."""
    if value is None:
        return (None, None)
    if not isinstance(value, list) or not 1 <= len(value) <= 2:
        raise CampaignError(f'{where} must be [min, max] (either may be ""), not {value!r}')
    ends: list[Any] = []
    for end in [*value, ""][:2]:
        if end == "" or end is None:
            ends.append(None)
            continue
        try:
            ends.append(kind(end))
        except (TypeError, ValueError) as exc:
            raise CampaignError(f"{where} must hold numbers, not {end!r}") from exc
    low, high = ends
    if low is not None and high is not None and low > high:
        raise CampaignError(f"{where}: the minimum {low} is above the maximum {high}")
    return (low, high)


def check_template(text: str, where: str) -> str:
    """A message template: known {fields} only, at most MAX_TEXT characters."""
    text = text.strip()
    if not text:
        raise CampaignError(f"{where} is empty: write the message in both languages")
    if len(text) > MAX_TEXT:
        raise CampaignError(f"{where} has {len(text)} characters; at most {MAX_TEXT}")
    try:
        names = {name for _lit, name, _spec, _conv in _FORMATTER.parse(text) if name is not None}
    except ValueError as exc:
        raise CampaignError(f"{where}: a {{ or }} is not closed ({exc})") from exc
    unknown = sorted(n for n in names if n not in FIELDS)
    if unknown:
        raise CampaignError(
            f"{where} uses unknown field(s) {', '.join(unknown)}; the fields are "
            + ", ".join("{" + f + "}" for f in FIELDS)
        )
    return text


def _audience(data: Mapping[str, Any], policy: Policy) -> Audience:
    tiers = _strings(data.get("tiers"), "audience.tiers")
    known_tiers = {t.key for t in policy.tiers}
    for tier in tiers:
        if tier not in known_tiers:
            raise CampaignError(
                f"audience.tiers: there is no tier {tier!r}; the tiers are "
                + ", ".join(sorted(known_tiers))
            )
    lifecycle = _strings(data.get("lifecycle"), "audience.lifecycle")
    stages = ("prospect", "new", "active", "at_risk", "lapsed", "lost")
    for stage in lifecycle:
        if stage not in stages:
            raise CampaignError(
                f"audience.lifecycle: {stage!r} is no stage; the stages are {', '.join(stages)}"
            )
    month = data.get("birthday_month")
    birthday_month: int | None = None
    if month is not None:
        if month == "current":
            birthday_month = 0
        elif isinstance(month, int) and 1 <= month <= 12:
            birthday_month = month
        else:
            raise CampaignError(
                f'audience.birthday_month must be 1-12 or "current", not {month!r}'
            )
    p_alive = _range(data.get("p_alive"), "audience.p_alive", float)
    if any(p is not None and not 0 <= p <= 1 for p in p_alive):
        raise CampaignError("audience.p_alive must lie between 0 and 1")
    consent = data.get("consent", True)
    if not isinstance(consent, bool):
        raise CampaignError(f"audience.consent must be true or false, not {consent!r}")
    known = {
        "segments",
        "lifecycle",
        "tiers",
        "stores",
        "birthday_month",
        "days_since_last_purchase",
        "p_alive",
        "points",
        "consent",
    }
    _no_unknown_keys(data, known, "audience")
    return Audience(
        segments=_strings(data.get("segments"), "audience.segments"),
        lifecycle=lifecycle,
        tiers=tiers,
        stores=tuple(s.upper() for s in _strings(data.get("stores"), "audience.stores")),
        birthday_month=birthday_month,
        days_since_purchase=_range(
            data.get("days_since_last_purchase"), "audience.days_since_last_purchase", int
        ),
        p_alive=p_alive,
        points=_range(data.get("points"), "audience.points", int),
        consent_only=consent,
    )


def _no_unknown_keys(data: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise CampaignError(
            f"[{where}] has unknown key(s) {', '.join(unknown)}; it takes "
            + ", ".join(sorted(known))
        )


def _message(data: Mapping[str, Any], photo: bytes | None) -> CampaignMessage:
    _no_unknown_keys(data, {"en", "zh", "buttons", "photo"}, "message")
    buttons = _strings(data.get("buttons", list(BUTTONS)), "message.buttons")
    for button in buttons:
        if button not in BUTTONS:
            raise CampaignError(
                f"message.buttons: {button!r} is no button; the buttons are {', '.join(BUTTONS)}"
            )
    return CampaignMessage(
        en=check_template(str(data.get("en", "")), "message.en"),
        zh=check_template(str(data.get("zh", "")), "message.zh"),
        buttons=buttons,
        photo=photo,
    )


def _schedule(data: Mapping[str, Any]) -> Schedule:
    kind_text = str(data.get("type", "once"))
    try:
        kind = ScheduleKind(kind_text)
    except ValueError as exc:
        raise CampaignError(
            f"schedule.type must be once, recurring or triggered, not {kind_text!r}"
        ) from exc
    reentry = data.get("reentry_days")
    if reentry is not None and (not isinstance(reentry, int) or reentry < 0):
        raise CampaignError(f"schedule.reentry_days must be 0 or more days, not {reentry!r}")
    send_time = _clock(data.get("send_time", "10:00"), "schedule.send_time")
    if kind is ScheduleKind.ONCE:
        at = data.get("at")
        if isinstance(at, datetime):
            moment = at.replace(tzinfo=None)
        else:
            try:
                moment = datetime.fromisoformat(str(at))
            except ValueError as exc:
                raise CampaignError(
                    f'schedule.at must be a local time such as "2026-06-16 10:00", not {at!r}'
                ) from exc
        return Schedule(kind, at=moment.replace(tzinfo=None, second=0, microsecond=0))
    if kind is ScheduleKind.RECURRING:
        cron = str(data.get("cron", ""))
        parse_cron(cron)
        return Schedule(kind, cron=cron, send_time=send_time, reentry_days=reentry)
    trigger_text = str(data.get("event", ""))
    try:
        trigger = Trigger(trigger_text)
    except ValueError as exc:
        raise CampaignError(
            f"schedule.event must be one of {', '.join(t.value for t in Trigger)}, "
            f"not {trigger_text!r}"
        ) from exc
    segment = str(data.get("segment", ""))
    if trigger is Trigger.ENTERED_SEGMENT and not segment:
        raise CampaignError('schedule.segment names the segment to enter (e.g. "at_risk")')
    days = data.get("days", 0)
    if not isinstance(days, int) or days < 0:
        raise CampaignError(f"schedule.days must be 0 or more, not {days!r}")
    if trigger in (Trigger.DAYS_AFTER_FIRST_PURCHASE, Trigger.POINTS_EXPIRING) and days < 1:
        raise CampaignError(f"schedule.days is needed for {trigger.value} (1 or more)")
    return Schedule(
        kind,
        trigger=trigger,
        segment=segment,
        days=days,
        send_time=send_time,
        reentry_days=reentry,
    )


def _clock(value: Any, where: str) -> time:
    try:
        return parse_clock_time(value, where)
    except PolicyError as exc:
        raise CampaignError(f'{where} must be a time of day such as "10:00"') from exc


def spec_from_mapping(
    data: Mapping[str, Any], policy: Policy, photo: bytes | None = None
) -> CampaignSpec:
    """A campaign from its parsed TOML file; a CampaignError names the key that is wrong."""
    _no_unknown_keys(
        data,
        {"name", "priority", "control_share", "audience", "message", "coupon", "schedule"},
        "campaign",
    )
    name = " ".join(str(data.get("name", "")).split())
    if not name or len(name) > 80:
        raise CampaignError("name is needed (1-80 characters)")
    priority = data.get("priority", 0)
    if not isinstance(priority, int):
        raise CampaignError(f"priority must be a whole number, not {priority!r}")
    share = data.get("control_share")
    if share is not None and (not isinstance(share, (int, float)) or not 0 <= share <= 0.9):
        raise CampaignError(f"control_share must be between 0 and 0.9, not {share!r}")
    coupon = data.get("coupon", {})
    if not isinstance(coupon, Mapping):
        raise CampaignError("[coupon] must be a table with a template")
    template = coupon.get("template")
    if template is not None:
        template = str(template)
        if template not in {t.key for t in policy.coupon_templates}:
            known = ", ".join(t.key for t in policy.coupon_templates)
            raise CampaignError(
                f"coupon.template: there is no coupon template {template!r}; "
                f"the templates are {known}"
            )
    message = _message(_table(data, "message"), photo)
    for text in (message.en, message.zh):
        if template is None and ("{coupon_code}" in text or "{coupon_expires}" in text):
            raise CampaignError("the message names {coupon_code} but [coupon] has no template")
    return CampaignSpec(
        name=name,
        audience=_audience(_table(data, "audience"), policy),
        message=message,
        schedule=_schedule(_table(data, "schedule")),
        priority=priority,
        control_share=float(share) if share is not None else None,
        coupon_template=template,
    )


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise CampaignError(f"[{name}] must be a table")
    return value


def spec_to_mapping(spec: CampaignSpec) -> dict[str, Any]:
    """The spec as JSON-friendly values, to be stored and read back with spec_from_stored."""
    a, s = spec.audience, spec.schedule
    return {
        "name": spec.name,
        "priority": spec.priority,
        "control_share": spec.control_share,
        "coupon_template": spec.coupon_template,
        "audience": {
            "segments": list(a.segments),
            "lifecycle": list(a.lifecycle),
            "tiers": list(a.tiers),
            "stores": list(a.stores),
            "birthday_month": a.birthday_month,
            "days_since_purchase": list(a.days_since_purchase),
            "p_alive": list(a.p_alive),
            "points": list(a.points),
            "consent_only": a.consent_only,
        },
        "message": {
            "en": spec.message.en,
            "zh": spec.message.zh,
            "buttons": list(spec.message.buttons),
        },
        "schedule": {
            "kind": s.kind.value,
            "at": s.at.isoformat() if s.at else None,
            "cron": s.cron,
            "send_time": s.send_time.strftime("%H:%M"),
            "trigger": s.trigger.value if s.trigger else None,
            "segment": s.segment,
            "days": s.days,
            "reentry_days": s.reentry_days,
        },
    }


def spec_from_stored(data: Mapping[str, Any], photo: bytes | None) -> CampaignSpec:
    a, m, s = data["audience"], data["message"], data["schedule"]
    return CampaignSpec(
        name=data["name"],
        priority=int(data["priority"]),
        control_share=data.get("control_share"),
        coupon_template=data.get("coupon_template"),
        audience=Audience(
            segments=tuple(a["segments"]),
            lifecycle=tuple(a["lifecycle"]),
            tiers=tuple(a["tiers"]),
            stores=tuple(a["stores"]),
            birthday_month=a["birthday_month"],
            days_since_purchase=(a["days_since_purchase"][0], a["days_since_purchase"][1]),
            p_alive=(a["p_alive"][0], a["p_alive"][1]),
            points=(a["points"][0], a["points"][1]),
            consent_only=bool(a["consent_only"]),
        ),
        message=CampaignMessage(m["en"], m["zh"], tuple(m["buttons"]), photo),
        schedule=Schedule(
            kind=ScheduleKind(s["kind"]),
            at=datetime.fromisoformat(s["at"]) if s["at"] else None,
            cron=s["cron"],
            send_time=_clock(s["send_time"], "schedule.send_time"),
            trigger=Trigger(s["trigger"]) if s["trigger"] else None,
            segment=s["segment"],
            days=int(s["days"]),
            reentry_days=s["reentry_days"],
        ),
    )


# -- who is held back -----------------------------------------------------------------------


def stable_fraction(*parts: object) -> float:
    """A number in [0, 1) that depends only on `parts`: the same member lands in the same group
    of the same campaign on every run, every worker and every database."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_control(campaign_id: int, member_id: int, share: float) -> bool:
    return stable_fraction("campaign", campaign_id, member_id) < share


def in_global_holdout(member_id: int, share: float) -> bool:
    """The chain-wide hold-out does not depend on the campaign: it gets no marketing at all."""
    return share > 0 and stable_fraction("holdout", member_id) < share


# -- the message ------------------------------------------------------------------------------


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, fields: Mapping[str, Any]) -> str:
    """The member's message: `fields` filled in; a field with no value is left empty."""
    return template.format_map(_Fields(fields))


def wave_key(spec: CampaignSpec, moment: datetime | None = None) -> str:
    """Which wave a send belongs to: "once", or the (chain-local) day or minute of the wave."""
    if spec.schedule.kind is ScheduleKind.ONCE or moment is None:
        return "once"
    return moment.strftime("%Y%m%dT%H%M")


def dedupe_key(campaign_id: int, wave: str, member_id: int) -> str:
    return f"campaign:{campaign_id}:{wave}:member:{member_id}"


def coupon_source(campaign_id: int, wave: str) -> str:
    return f"campaign:{campaign_id}" if wave == "once" else f"campaign:{campaign_id}:{wave}"


def send_moment(spec: CampaignSpec, tz: str, now: datetime) -> datetime:
    """When a member in zone `tz` should get a wave started at `now`: the campaign's local time
    for a one-off campaign (now if it has passed), else the schedule's local send time today
    (now if that has passed). Quiet hours are the sender's to apply on top."""
    zone = ZoneInfo(tz)
    if spec.schedule.kind is ScheduleKind.ONCE and spec.schedule.at is not None:
        wanted = spec.schedule.at.replace(tzinfo=zone)
    else:
        wanted = datetime.combine(now.astimezone(zone).date(), spec.schedule.send_time, zone)
    return max(wanted, now)


def may_reenter(reentry_days: int | None, last: datetime | None, now: datetime) -> bool:
    """Whether a member who got the campaign at `last` may get it again at `now`."""
    if last is None:
        return True
    if reentry_days is None:
        return False
    return now - last >= timedelta(days=reentry_days)


@dataclass(frozen=True)
class Rival:
    """Another campaign already queued for the member on the same local day."""

    campaign_id: int
    priority: int
    sent: bool = False  # its message has left the outbox already (or is leaving)


def wins_over(priority: int, campaign_id: int, rival: Rival) -> bool:
    """The higher priority wins the day; on a tie the campaign started first keeps it."""
    return (priority, -campaign_id) > (rival.priority, -rival.campaign_id)


# -- cron -------------------------------------------------------------------------------------

_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def _cron_field(text: str, low: int, high: int, where: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, b = body.split("-")
            start, end = int(_DAYS.get(a, a)), int(_DAYS.get(b, b))
        else:
            start = int(_DAYS.get(body, body))
            end = high if step_text else start
        if not low <= start <= end <= high or step < 1:
            raise ValueError(where)
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(text: str) -> tuple[frozenset[int], ...]:
    """ "minute hour day month weekday" (0 or sun = Sunday); a CampaignError if it is not."""
    fields = text.split()
    if len(fields) != 5:
        raise CampaignError(
            f"schedule.cron must have 5 fields (minute hour day month weekday), not {text!r}"
        )
    names = ("minute", "hour", "day", "month", "weekday")
    try:
        return tuple(
            _cron_field(f.replace("7", "0") if i == 4 else f, lo, hi, names[i])
            for i, (f, (lo, hi)) in enumerate(zip(fields, _CRON_RANGES, strict=True))
        )
    except ValueError as exc:
        raise CampaignError(f"schedule.cron {text!r}: the {exc} field is wrong") from exc


def last_fire(cron: str, tz: str, now: datetime, since: datetime) -> datetime | None:
    """The latest cron time in (since, now] in zone `tz`, or None; looks back at most 8 days
    (a weekly wave missed while the scheduler was down is still sent, an older one is not)."""
    minute, hour, day, month, weekday = parse_cron(cron)
    zone = ZoneInfo(tz)
    moment = now.astimezone(zone).replace(second=0, microsecond=0)
    floor = max(since, now - timedelta(days=8))
    while moment > floor:
        if (
            moment.minute in minute
            and moment.hour in hour
            and moment.day in day
            and moment.month in month
            and (moment.isoweekday() % 7) in weekday
        ):
            return moment
        moment -= timedelta(minutes=1)
    return None


# -- uplift -------------------------------------------------------------------------------------


def uplift(treated: GroupOutcome, control: GroupOutcome, min_group: int) -> Uplift | None:
    """The difference in purchase rate (buyers / members) between the treated and the control
    group, with a 95% Wald interval for a difference of two proportions:

        p_t = buyers_t / n_t,   p_c = buyers_c / n_c,   d = p_t - p_c
        SE  = sqrt(p_t (1 - p_t) / n_t  +  p_c (1 - p_c) / n_c)
        95% interval = d ± 1.96 · SE

    The normal approximation needs enough members and enough buyers and non-buyers in both
    groups: below `min_group` members, or fewer than 5 buyers or non-buyers in a group, the
    result is marked inconclusive ("too small to conclude"). None when a group is empty.
    """
    if treated.members == 0 or control.members == 0:
        return None
    p_t = treated.buyers / treated.members
    p_c = control.buyers / control.members
    se = math.sqrt(p_t * (1 - p_t) / treated.members + p_c * (1 - p_c) / control.members)
    d = p_t - p_c
    enough = all(
        g.members >= min_group and g.buyers >= 5 and g.members - g.buyers >= 5
        for g in (treated, control)
    )
    return Uplift(p_t, p_c, d, d - Z95 * se, d + Z95 * se, enough)


def incremental_revenue(treated: GroupOutcome, control: GroupOutcome) -> Decimal | None:
    """(revenue per treated member − revenue per control member) × treated members."""
    if treated.members == 0 or control.members == 0:
        return None
    per_t = treated.revenue / treated.members
    per_c = control.revenue / control.members
    return ((per_t - per_c) * treated.members).quantize(Decimal("0.01"))
