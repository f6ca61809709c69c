"""The [segments] section of retailbot.toml: RFM method and cut points, the named segments,
lifecycle stages and the churn warning.

The lifecycle defaults suit a grocery chain, where a regular shops every one to two weeks:
- `new`: first purchase at most `new_days` (30) ago and at most `new_max_purchases` (2)
  purchases: a member still trying the chain out;
- `active` while the last purchase is at most `active_days` (30) old: two to four missed
  weekly shops are still normal (holidays, a big stock-up);
- `at_risk` up to `lapsed_days` (60): a month without groceries means they shop elsewhere now;
- `lapsed` up to `lost_days` (180), `lost` beyond: half a year away, a win-back offer is the
  only hope.
A member with at least `own_interval_min_purchases` (4) purchases is measured against their
own usual interval (days between first and last purchase / (purchases - 1)) instead: active
up to `active_intervals` (2) of them, at risk up to `lapsed_intervals` (4), lapsed up to
`lost_intervals` (8); each of these never shorter than half its default above (someone who
shops every other day is not lost after a fortnight's holiday) and none longer than
`lost_days_max` (365) days, after which every member is lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.shared.errors import PolicyError
from domain.shared.policy_values import (
    array_of_tables,
    decimal_number,
    is_short_key,
    key_of,
    number,
    whole_number,
)
from domain.shared.text import in_language

# What staff read for each lifecycle stage (keys are domain.segments.model.Lifecycle values).
LIFECYCLE_NAMES: dict[str, dict[str, str]] = {
    "prospect": {"en": "prospect", "zh": "潜在客户"},
    "new": {"en": "new", "zh": "新客"},
    "active": {"en": "active", "zh": "活跃"},
    "at_risk": {"en": "at risk", "zh": "有流失风险"},
    "lapsed": {"en": "lapsed", "zh": "已流失"},
    "lost": {"en": "lost", "zh": "已失去"},
}

METHODS = ("quintiles", "thresholds")
CHURN_MODELS = ("bgnbd", "rules")


@dataclass(frozen=True)
class NamedSegment:
    """A named segment: the R and F scores it covers, its names in en and zh."""

    key: str
    name_en: str
    name_zh: str
    r: tuple[int, ...]
    f: tuple[int, ...]

    def name(self, lang: str) -> str:
        return in_language(lang, self.name_en, self.name_zh)


DEFAULT_SEGMENTS = (
    NamedSegment("champions", "Champions", "冠军客户", (5,), (4, 5)),
    NamedSegment("loyal", "Loyal", "忠诚客户", (3, 4), (4, 5)),
    NamedSegment("potential_loyalists", "Potential loyalists", "潜力客户", (4, 5), (2, 3)),
    NamedSegment("new_customers", "New", "新客户", (5,), (1,)),
    NamedSegment("promising", "Promising", "有希望的客户", (4,), (1,)),
    NamedSegment("need_attention", "Need attention", "需要关注", (3,), (3,)),
    NamedSegment("about_to_sleep", "About to sleep", "即将沉睡", (3,), (1, 2)),
    NamedSegment("at_risk", "At risk", "有流失风险", (1, 2), (3, 4)),
    NamedSegment("cant_lose", "Can't lose them", "不能失去的客户", (1, 2), (5,)),
    NamedSegment("hibernating", "Hibernating", "沉睡客户", (1, 2), (1, 2)),
)


@dataclass(frozen=True)
class SegmentPolicy:
    """The [segments] section; every field has a safe default."""

    method: str = "quintiles"  # or "thresholds"
    window_days: int = 365  # RFM looks at purchases in this many days
    # thresholds: R 5 at or below the first cut, 1 above the last; F and M 1 below the first
    # cut, 5 at or above the last (monetary in currency units)
    recency_days: tuple[int, ...] = (14, 30, 60, 120)
    frequency: tuple[int, ...] = (2, 4, 8, 16)
    monetary: tuple[Decimal, ...] = (
        Decimal(200), Decimal(500), Decimal(1500), Decimal(5000)
    )
    segments: tuple[NamedSegment, ...] = DEFAULT_SEGMENTS
    new_days: int = 30
    new_max_purchases: int = 2
    active_days: int = 30
    lapsed_days: int = 60
    lost_days: int = 180
    own_interval_min_purchases: int = 4
    active_intervals: float = 2.0
    lapsed_intervals: float = 4.0
    lost_intervals: float = 8.0
    lost_days_max: int = 365
    churn_model: str = "bgnbd"  # "rules": no model, the lifecycle stages alone
    min_repeat_members: int = 200  # fewer members who came back than this: too little to fit
    high_value_min_m: int = 4  # an M score this high or higher makes a member high-value
    p_alive_threshold: float = 0.5  # a high-value member below this is flagged

    def segment(self, key: str) -> NamedSegment | None:
        return next((s for s in self.segments if s.key == key), None)

    def lifecycle_name(self, stage: str, lang: str) -> str:
        names = LIFECYCLE_NAMES.get(stage, {})
        return names.get(lang) or names.get("en") or stage

    def segment_name(self, key: str | None, lang: str) -> str:
        found = self.segment(key) if key else None
        return found.name(lang) if found else (key or "")


def segment_policy_from_mapping(data: Mapping[str, Any]) -> SegmentPolicy:
    """Read [segments] of the policy file; raise PolicyError naming the key that is wrong."""
    d = SegmentPolicy()
    method = str(data.get("method", d.method))
    if method not in METHODS:
        raise PolicyError(f"segments.method must be one of {', '.join(METHODS)}, not {method!r}")
    churn_model = str(data.get("churn_model", d.churn_model))
    if churn_model not in CHURN_MODELS:
        raise PolicyError(
            f"segments.churn_model must be one of {', '.join(CHURN_MODELS)}, not {churn_model!r}"
        )
    recency = _cuts(data.get("recency_days", list(d.recency_days)), "segments.recency_days")
    frequency = _cuts(data.get("frequency", list(d.frequency)), "segments.frequency")
    monetary = _money_cuts(data.get("monetary", [str(m) for m in d.monetary]))
    segments = (
        _named(data["map"]) if "map" in data else d.segments
    )
    new_days = _days(data, "new_days", d.new_days)
    active_days = _days(data, "active_days", d.active_days)
    lapsed_days = _days(data, "lapsed_days", d.lapsed_days)
    lost_days = _days(data, "lost_days", d.lost_days)
    if not active_days <= lapsed_days <= lost_days:
        raise PolicyError(
            "segments.active_days, lapsed_days and lost_days must not decrease "
            f"({active_days}, {lapsed_days}, {lost_days})"
        )
    intervals = [
        number(data.get(name, getattr(d, name)), f"segments.{name}")
        for name in ("active_intervals", "lapsed_intervals", "lost_intervals")
    ]
    if intervals[0] <= 0 or intervals != sorted(intervals):
        raise PolicyError(
            "segments.active_intervals, lapsed_intervals and lost_intervals must be above 0 "
            f"and not decrease ({', '.join(str(i) for i in intervals)})"
        )
    threshold = number(data.get("p_alive_threshold", d.p_alive_threshold),
                       "segments.p_alive_threshold")
    if not 0 <= threshold <= 1:
        raise PolicyError(f"segments.p_alive_threshold must be between 0 and 1, not {threshold}")
    high_m = whole_number(data.get("high_value_min_m", d.high_value_min_m),
                          "segments.high_value_min_m", 1)
    if high_m > 5:
        raise PolicyError(f"segments.high_value_min_m must be 1 to 5, not {high_m}")
    return SegmentPolicy(
        method=method,
        window_days=_days(data, "window_days", d.window_days),
        recency_days=recency,
        frequency=frequency,
        monetary=monetary,
        segments=segments,
        new_days=new_days,
        new_max_purchases=whole_number(
            data.get("new_max_purchases", d.new_max_purchases), "segments.new_max_purchases", 1
        ),
        active_days=active_days,
        lapsed_days=lapsed_days,
        lost_days=lost_days,
        own_interval_min_purchases=whole_number(
            data.get("own_interval_min_purchases", d.own_interval_min_purchases),
            "segments.own_interval_min_purchases",
            2,
        ),
        active_intervals=intervals[0],
        lapsed_intervals=intervals[1],
        lost_intervals=intervals[2],
        lost_days_max=_days(data, "lost_days_max", d.lost_days_max),
        churn_model=churn_model,
        min_repeat_members=whole_number(
            data.get("min_repeat_members", d.min_repeat_members), "segments.min_repeat_members", 10
        ),
        high_value_min_m=high_m,
        p_alive_threshold=threshold,
    )


def _days(data: Mapping[str, Any], name: str, default: int) -> int:
    return whole_number(data.get(name, default), f"segments.{name}", 1)


def _cuts(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) != 4:
        raise PolicyError(f"{where} must be a list of 4 increasing numbers, such as [2, 4, 8, 16]")
    cuts = tuple(whole_number(v, f"{where}[{i}]", 0) for i, v in enumerate(value))
    if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
        raise PolicyError(f"{where} must increase, not {list(cuts)}")
    return cuts


def _money_cuts(value: Any) -> tuple[Decimal, ...]:
    where = "segments.monetary"
    if not isinstance(value, list) or len(value) != 4:
        raise PolicyError(f"{where} must be a list of 4 increasing amounts, such as [200, 500]")
    cuts = tuple(decimal_number(v, f"{where}[{i}]") for i, v in enumerate(value))
    if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
        raise PolicyError(f"{where} must increase, not {[str(c) for c in cuts]}")
    return cuts


def _scores(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise PolicyError(f"{where} must be a list of scores 1 to 5, such as [4, 5]")
    scores = tuple(whole_number(v, f"{where}[{i}]", 1) for i, v in enumerate(value))
    if any(s > 5 for s in scores):
        raise PolicyError(f"{where} holds scores 1 to 5, not {list(scores)}")
    return scores


def _named(value: Any) -> tuple[NamedSegment, ...]:
    entries: Sequence[Mapping[str, Any]] = array_of_tables(value, "segments.map")
    found: list[NamedSegment] = []
    for i, entry in enumerate(entries):
        where = f"segments.map[{i}]"
        key = key_of(entry, where)
        if not is_short_key(key):
            raise PolicyError(f"{where}.key must be 1-24 lower-case letters, digits or _")
        if any(s.key == key for s in found):
            raise PolicyError(f"{where}.key {key!r} is used twice")
        name_en = str(entry.get("name_en", key))
        found.append(
            NamedSegment(
                key=key,
                name_en=name_en,
                name_zh=str(entry.get("name_zh", name_en)),
                r=_scores(entry.get("r"), f"{where}.r"),
                f=_scores(entry.get("f"), f"{where}.f"),
            )
        )
    if not found:
        raise PolicyError("segments.map needs at least one [[segments.map]] entry")
    return tuple(found)
