"""The [callbacks] section of retailbot.toml: which rules call whom back, how and when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import time
from typing import Any

from domain.callbacks.model import Channel, Rule
from domain.shared.errors import PolicyError
from domain.shared.policy_values import number, parse_clock_time, table, whole_number
from domain.shared.text import in_language

REPAIR_ONLY_EN = (
    "Repair only, no selling. \"Hello, this is {chain}. We are calling about your complaint "
    "{context}: is everything sorted out to your satisfaction? Is there anything else we "
    "should put right?\""
)
REPAIR_ONLY_ZH = (
    "只做修复，不做推销。「您好，这里是{chain}。关于您的投诉 {context}，想确认一下问题是否已经"
    "妥善解决？还有什么需要我们改进的吗？」"
)


@dataclass(frozen=True)
class RulePolicy:
    """One rule: on or off, its channel, whether an unanswered or unreachable check-in falls
    back to the call queue, its priority (1 goes first), its timing and the staff's script."""

    rule: Rule
    enabled: bool = True
    channel: Channel = Channel.CALL
    fallback: bool = True
    priority: int = 5
    # complaint, detractor: due this many hours after the ticket is resolved.
    after_hours: float = 4
    # new_member: days after the first purchase; gone_quiet: at most once per this many days;
    # vip: every this many days.
    days: int = 0
    script_en: str = ""
    script_zh: str = ""

    def script(self, lang: str) -> str:
        return in_language(lang, self.script_en, self.script_zh)


DEFAULT_RULES = (
    RulePolicy(Rule.DETRACTOR, channel=Channel.CALL, priority=1, after_hours=4,
               script_en=REPAIR_ONLY_EN, script_zh=REPAIR_ONLY_ZH),
    RulePolicy(Rule.COMPLAINT, channel=Channel.CALL, priority=2, after_hours=4,
               script_en=REPAIR_ONLY_EN, script_zh=REPAIR_ONLY_ZH),
    RulePolicy(
        Rule.GONE_QUIET, channel=Channel.CALL, priority=3, days=90,
        script_en="\"Hello, this is {chain}. We have not seen you for a while and wanted to ask "
        "how we are doing: is there anything that keeps you away?\" Note the reason.",
        script_zh="「您好，这里是{chain}。有一阵子没见到您了，想问问我们哪里做得不够好？」请记录原因。",
    ),
    RulePolicy(
        Rule.VIP, channel=Channel.CHECKIN, priority=4, days=30,
        script_en="\"Hello, this is {chain}. As one of our best customers: how are we doing, "
        "and is there anything we can do for you?\"",
        script_zh="「您好，这里是{chain}。作为我们的贵宾会员，想听听您对我们的意见和需要。」",
    ),
    RulePolicy(
        Rule.NEW_MEMBER, channel=Channel.CHECKIN, fallback=False, priority=5, days=7,
        script_en="\"Hello, this is {chain}. Welcome! How was your first visit? Do you know "
        "how to check your points and coupons in our chat?\"",
        script_zh="「您好，这里是{chain}。欢迎加入！第一次购物体验如何？您知道在聊天里查积分和优惠券吗？」",
    ),
)


@dataclass(frozen=True)
class CallbackPolicy:
    """The callbacks rules of the policy file ([callbacks])."""

    rules: tuple[RulePolicy, ...] = DEFAULT_RULES
    # One member gets at most one callback of any kind in this many days; a rule of higher
    # priority still goes ahead and replaces an open one of lower priority.
    min_days_between: int = 14
    # Day-based rules (new member, gone quiet, VIP) are due at this local time of the member's
    # store; check-ins also wait for the end of quiet hours ([delivery]).
    due_time: time = time(10, 0)
    # A check-in unanswered for this many days falls back to the call queue (if the rule lets).
    checkin_answer_days: int = 3
    # A call nobody picked up is tried again after retry_hours, up to max_attempts calls.
    retry_hours: float = 4
    max_attempts: int = 3
    # Overdue calls remind the assignee (or the staff group) after remind_after_hours, then the
    # managers after escalate_after_hours; once each.
    remind_after_hours: float = 4
    escalate_after_hours: float = 24
    # The report counts a call done within this many hours of its due time as on time.
    on_time_hours: float = 24
    # Gone quiet needs a valuable member: one of these tiers, an M score of at least this
    # (1-5, 0 = not used), or the churn flag (when churn_flag is true).
    high_value_tiers: tuple[str, ...] = ("gold",)
    high_value_min_m: int = 5
    churn_flag: bool = True
    # A new member is called about first purchases at most this many days late (a first
    # deployment does not call every member who ever joined).
    new_member_grace_days: int = 3
    # The report compares purchases within this many days after the callback.
    repurchase_days: int = 30

    def rule(self, rule: Rule) -> RulePolicy:
        found = next((r for r in self.rules if r.rule is rule), None)
        return found if found is not None else RulePolicy(rule, enabled=False)

    def enabled(self, rule: Rule) -> bool:
        return self.rule(rule).enabled


def callback_policy_from_mapping(data: Mapping[str, Any]) -> CallbackPolicy:
    """Read [callbacks] of the policy file; raise PolicyError naming the key that is wrong.

    `data` is the [callbacks] table itself.
    """
    default = CallbackPolicy()
    given = table(data.get("rules", {}), "callbacks.rules")
    unknown = sorted(set(given) - {r.value for r in Rule})
    if unknown:
        names = ", ".join(r.value for r in Rule)
        raise PolicyError(f"callbacks.rules: unknown rule {unknown[0]!r} (the rules: {names})")
    rules = tuple(
        _rule(base, table(given.get(base.rule.value, {}), f"callbacks.rules.{base.rule.value}"))
        for base in default.rules
    )
    tiers = data.get("high_value_tiers", list(default.high_value_tiers))
    if not isinstance(tiers, list) or not all(isinstance(t, str) for t in tiers):
        raise PolicyError("callbacks.high_value_tiers must be a list of tier keys")
    min_m = whole_number(data.get("high_value_min_m", default.high_value_min_m),
                         "callbacks.high_value_min_m", 0)
    if min_m > 5:
        raise PolicyError(f"callbacks.high_value_min_m must be 0 to 5, not {min_m}")
    remind = _hours(data, "remind_after_hours", default.remind_after_hours)
    escalate = _hours(data, "escalate_after_hours", default.escalate_after_hours)
    if escalate <= remind:
        raise PolicyError(
            "callbacks.escalate_after_hours must be more than callbacks.remind_after_hours: "
            "the managers hear after the assignee"
        )
    churn = data.get("churn_flag", default.churn_flag)
    if not isinstance(churn, bool):
        raise PolicyError(f"callbacks.churn_flag must be true or false, not {churn!r}")
    return CallbackPolicy(
        rules=rules,
        min_days_between=_days(data, "min_days_between", default.min_days_between),
        due_time=parse_clock_time(data.get("due_time", "10:00"), "callbacks.due_time"),
        checkin_answer_days=_days(data, "checkin_answer_days", default.checkin_answer_days),
        retry_hours=_hours(data, "retry_hours", default.retry_hours),
        max_attempts=_days(data, "max_attempts", default.max_attempts),
        remind_after_hours=remind,
        escalate_after_hours=escalate,
        on_time_hours=_hours(data, "on_time_hours", default.on_time_hours),
        high_value_tiers=tuple(tiers),
        high_value_min_m=min_m,
        churn_flag=churn,
        new_member_grace_days=_days(data, "new_member_grace_days",
                                    default.new_member_grace_days),
        repurchase_days=_days(data, "repurchase_days", default.repurchase_days),
    )


def _rule(base: RulePolicy, spec: Mapping[str, Any]) -> RulePolicy:
    where = f"callbacks.rules.{base.rule.value}"
    known = {"enabled", "channel", "fallback", "priority", "after_hours", "days", "script_en",
             "script_zh"}
    extra = sorted(set(spec) - known)
    if extra:
        raise PolicyError(f"{where}: unknown key {extra[0]!r}")
    for flag in ("enabled", "fallback"):
        if flag in spec and not isinstance(spec[flag], bool):
            raise PolicyError(f"{where}.{flag} must be true or false, not {spec[flag]!r}")
    try:
        channel = Channel(str(spec.get("channel", base.channel.value)))
    except ValueError as exc:
        raise PolicyError(
            f"{where}.channel must be 'checkin' or 'call', not {spec['channel']!r}"
        ) from exc
    after = number(spec.get("after_hours", base.after_hours), f"{where}.after_hours")
    if not 0 <= after <= 24 and base.rule in (Rule.COMPLAINT, Rule.DETRACTOR):
        raise PolicyError(f"{where}.after_hours must be 0 to 24: a complaint is called back "
                          f"within a day of its resolution")
    days = base.days
    if base.days:
        days = whole_number(spec.get("days", base.days), f"{where}.days", 1)
    script_en = str(spec.get("script_en", base.script_en))
    return replace(
        base,
        enabled=spec.get("enabled", base.enabled),
        channel=channel,
        fallback=spec.get("fallback", base.fallback),
        priority=whole_number(spec.get("priority", base.priority), f"{where}.priority", 1),
        after_hours=after,
        days=days,
        script_en=script_en,
        script_zh=str(spec.get("script_zh", base.script_zh if "script_en" not in spec
                               else script_en)),
    )


def _days(data: Mapping[str, Any], name: str, default: int) -> int:
    return whole_number(data.get(name, default), f"callbacks.{name}", 1)


def _hours(data: Mapping[str, Any], name: str, default: float) -> float:
    found = number(data.get(name, default), f"callbacks.{name}")
    if found <= 0:
        raise PolicyError(f"callbacks.{name} must be above 0, not {found}")
    return found


