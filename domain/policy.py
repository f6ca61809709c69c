"""The store's rules from retailbot.toml: points, tiers, coupons, delivery, tickets, surveys.
Safe defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import PolicyError
from domain.survey_rules import SurveyPolicy, survey_policy_from_mapping
from domain.tickets import TicketPolicy, ticket_policy_from_mapping

ROUNDING_MODES = {"floor": ROUND_FLOOR, "round": ROUND_HALF_UP, "ceil": ROUND_CEILING}


@dataclass(frozen=True)
class Tier:
    """A membership level reached by rolling-12-month spend; its multiplier scales points."""

    key: str
    threshold: Decimal
    multiplier: Decimal
    name_en: str
    name_zh: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True)
class PointsPolicy:
    """How receipts turn into points and how long points live."""

    per_currency_unit: Decimal = Decimal("1")
    rounding: str = "floor"
    expiry_months: int = 12
    expiring_soon_days: int = 30


@dataclass(frozen=True)
class FaqEntry:
    """A canned answer with the questions it answers, in both languages."""

    key: str
    questions: tuple[str, ...]
    answer_en: str
    answer_zh: str

    def answer(self, lang: str) -> str:
        return self.answer_zh if lang == "zh" else self.answer_en

COUPON_KINDS = ("amount", "percent", "gift")


@dataclass(frozen=True)
class CouponTemplate:
    """What a kind of coupon gives: an amount off, a percentage off or a gift, and its terms.

    An issued coupon copies these terms, so editing the policy file later never changes a
    coupon a member already holds.
    """

    key: str
    kind: str  # "amount" (value in currency), "percent" (value in %), "gift" (value unused)
    value: Decimal
    name_en: str
    name_zh: str
    min_spend: Decimal = Decimal("0")
    valid_days: int = 30
    stores: tuple[str, ...] = ()  # store codes that accept it; empty: every store

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True)
class ExchangeReward:
    """An entry of the points catalogue (积分兑换): so many points buy one coupon."""

    key: str
    points: int
    template: str


@dataclass(frozen=True)
class BirthdayPolicy:
    """The birthday gift: which coupon, at what local time, how many missed days to catch up."""

    template: str = "birthday"  # "" switches birthday gifts off
    send_at: time = time(9, 0)
    catch_up_days: int = 3


@dataclass(frozen=True)
class DeliveryPolicy:
    """How fast and when proactive messages go out (see scheduler/sender.py)."""

    rate_per_second: float = 25.0  # all chats together; Telegram allows about 30
    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    quiet_start: time | None = time(21, 0)  # local time of the member's store
    quiet_end: time | None = time(9, 0)
    marketing_per_7_days: int = 2  # frequency cap per member, rolling 7 days
    max_attempts: int = 5  # transient failures before a message is dead-lettered
    backoff_seconds: float = 30.0  # first retry delay; doubles each attempt
    backoff_max_seconds: float = 3600.0
    coupon_reminder_days: int = 3  # remind this many days before a coupon expires


DEFAULT_COUPON_TEMPLATES = (
    CouponTemplate(
        "birthday", "amount", Decimal("20"), "Birthday gift: 20 off", "生日礼券：立减 20 元",
        min_spend=Decimal("100"), valid_days=30,
    ),
    CouponTemplate(
        "ten_off", "amount", Decimal("10"), "10 off your shopping", "购物立减 10 元",
        min_spend=Decimal("50"), valid_days=60,
    ),
    CouponTemplate(
        "pct_off", "percent", Decimal("10"), "10% off your shopping", "购物 9 折",
        min_spend=Decimal("200"), valid_days=30,
    ),
    CouponTemplate(
        "tote_bag", "gift", Decimal("0"), "A free reusable shopping bag", "免费环保购物袋一个",
        valid_days=90,
    ),
)

DEFAULT_EXCHANGE = (
    ExchangeReward("tote_bag", 300, "tote_bag"),
    ExchangeReward("ten_off", 500, "ten_off"),
    ExchangeReward("pct_off", 1000, "pct_off"),
)


@dataclass(frozen=True)
class Policy:
    """Everything the shop decides; every field has a safe default so an empty file works."""

    chain_name: str = "Retailbot Demo Mart"
    timezone: str = "Asia/Shanghai"
    default_region: str = "CN"
    currency: str = "CNY"
    points: PointsPolicy = field(default_factory=PointsPolicy)
    tiers: tuple[Tier, ...] = ()
    faq: tuple[FaqEntry, ...] = ()
    faq_min_score: float = 80.0
    max_text_length: int = 1000
    coupon_templates: tuple[CouponTemplate, ...] = DEFAULT_COUPON_TEMPLATES
    exchange: tuple[ExchangeReward, ...] = DEFAULT_EXCHANGE
    birthday: BirthdayPolicy = field(default_factory=BirthdayPolicy)
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    tickets: TicketPolicy = field(default_factory=TicketPolicy)
    surveys: SurveyPolicy = field(default_factory=SurveyPolicy)

    def __post_init__(self) -> None:
        if not self.tiers:
            object.__setattr__(self, "tiers", DEFAULT_TIERS)
        if not self.faq:
            object.__setattr__(self, "faq", DEFAULT_FAQ)

    def tier_for_spend(self, spend: Decimal) -> Tier:
        """The highest tier whose threshold the spend reaches."""
        reached = [t for t in self.tiers if spend >= t.threshold]
        return reached[-1] if reached else self.tiers[0]

    def tier(self, key: str) -> Tier:
        for tier in self.tiers:
            if tier.key == key:
                return tier
        return self.tiers[0]

    def next_tier(self, key: str) -> Tier | None:
        keys = [t.key for t in self.tiers]
        index = keys.index(key) if key in keys else 0
        return self.tiers[index + 1] if index + 1 < len(self.tiers) else None

    def coupon_template(self, key: str) -> CouponTemplate:
        for template in self.coupon_templates:
            if template.key == key:
                return template
        raise PolicyError(f"there is no coupon template {key!r} in the policy")

    def reward(self, key: str) -> ExchangeReward | None:
        return next((r for r in self.exchange if r.key == key), None)

    def points_for(self, amount: Decimal, multiplier: Decimal) -> int:
        """Points earned on a receipt amount under the rounding rule; never negative."""
        if amount <= 0:
            return 0
        raw = amount * self.points.per_currency_unit * multiplier
        return int(raw.quantize(Decimal(1), rounding=ROUNDING_MODES[self.points.rounding]))


DEFAULT_TIERS = (
    Tier("member", Decimal("0"), Decimal("1"), "Member", "普通会员"),
    Tier("silver", Decimal("2000"), Decimal("1.25"), "Silver", "银卡会员"),
    Tier("gold", Decimal("8000"), Decimal("1.5"), "Gold", "金卡会员"),
)

DEFAULT_FAQ = (
    FaqEntry(
        "hours",
        (
            "store hours",
            "opening hours",
            "when are you open",
            "what time do you close",
            "营业时间",
            "几点开门",
            "几点关门",
        ),
        "Our stores are open every day from 8:00 to 22:00.",
        "我们的门店每天 8:00 至 22:00 营业。",
    ),
    FaqEntry(
        "returns",
        ("returns", "return policy", "refund", "can i return", "退货", "退款", "怎么退货"),
        "Unopened goods can be returned within 7 days with the receipt; fresh food within 24 "
        "hours. Points earned on the purchase are taken back.",
        "未拆封商品凭小票 7 天内可退，生鲜 24 小时内可退。该笔消费所得积分将被扣回。",
    ),
    FaqEntry(
        "how_points",
        (
            "how do points work",
            "how to earn points",
            "earn points",
            "积分怎么算",
            "积分规则",
            "怎么赚积分",
        ),
        "You earn points on every purchase when you show your member number or phone at the "
        "till. Higher tiers earn more, and points expire 12 months after they were earned.",
        "结账时出示会员号或手机号，每笔消费都可获得积分。"
        "等级越高积分越多，积分在获得 12 个月后过期。",
    ),
)


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same mistake
        raise PolicyError(f"{where} must be a number, not {value!r}") from exc


def _not_negative(value: Any, where: str) -> Decimal:
    number = _decimal(value, where)
    if not number.is_finite() or number < 0:
        raise PolicyError(f"{where} must be a number of 0 or more, not {value!r}")
    return number


def policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    """Build a Policy from parsed TOML; raise PolicyError naming the key that is wrong."""
    points_raw = dict(_table(data.get("points", {}), "points"))
    rounding = str(points_raw.get("rounding", "floor"))
    if rounding not in ROUNDING_MODES:
        raise PolicyError(f"points.rounding must be one of floor, round, ceil, not {rounding!r}")
    # A word where a number belongs must be a PolicyError naming the key, not a traceback;
    # a negative rate or multiplier would make a purchase cost points.
    points = PointsPolicy(
        per_currency_unit=_not_negative(
            points_raw.get("per_currency_unit", 1), "points.per_currency_unit"
        ),
        rounding=rounding,
        expiry_months=_int(points_raw.get("expiry_months", 12), "points.expiry_months", 1),
        expiring_soon_days=_int(
            points_raw.get("expiring_soon_days", 30), "points.expiring_soon_days", 0
        ),
    )
    tiers: list[Tier] = []
    for i, raw in enumerate(data.get("tiers", [])):
        where = f"tiers[{i}]"
        if "key" not in raw:
            raise PolicyError(f"{where} needs a key")
        tiers.append(
            Tier(
                key=str(raw["key"]),
                threshold=_decimal(raw.get("threshold", 0), f"{where}.threshold"),
                multiplier=_not_negative(raw.get("multiplier", 1), f"{where}.multiplier"),
                name_en=str(raw.get("name_en", raw["key"])),
                name_zh=str(raw.get("name_zh", raw.get("name_en", raw["key"]))),
            )
        )
    if tiers:
        if tiers[0].threshold != 0:
            raise PolicyError("the first tier must have threshold 0 so every member has a tier")
        if any(a.threshold >= b.threshold for a, b in zip(tiers, tiers[1:], strict=False)):
            raise PolicyError("tiers must be listed with strictly rising thresholds")
    faq = tuple(
        FaqEntry(
            key=str(raw.get("key", f"faq{i}")),
            questions=tuple(str(q) for q in raw.get("questions", [])),
            answer_en=str(raw.get("answer_en", "")),
            answer_zh=str(raw.get("answer_zh", raw.get("answer_en", ""))),
        )
        for i, raw in enumerate(data.get("faq", []))
    )
    tz = str(data.get("timezone", "Asia/Shanghai"))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(f"timezone {tz!r} is not a known IANA time zone") from exc
    templates = _coupon_templates(data.get("coupons", {}))
    tickets = ticket_policy_from_mapping(_table(data.get("tickets", {}), "tickets"))
    return Policy(
        chain_name=str(data.get("chain_name", Policy.chain_name)),
        timezone=tz,
        default_region=str(data.get("default_region", "CN")),
        currency=str(data.get("currency", "CNY")),
        points=points,
        tiers=tuple(tiers),
        faq=faq or DEFAULT_FAQ,
        faq_min_score=float(data.get("faq_min_score", 80.0)),
        max_text_length=_int(data.get("max_text_length", 1000), "max_text_length", 1),
        coupon_templates=templates,
        exchange=_exchange(data.get("coupons", {}), templates),
        birthday=_birthday(data.get("birthday", {}), templates),
        delivery=_delivery(data.get("delivery", {})),
        tickets=tickets,
        surveys=_surveys(data.get("surveys", {}), tickets),
    )


def _surveys(raw: Any, tickets: TicketPolicy) -> SurveyPolicy:
    surveys = survey_policy_from_mapping(_table(raw, "surveys"))
    if surveys.recovery and tickets.category(surveys.recovery_category) is None:
        known = ", ".join(c.key for c in tickets.categories)
        raise PolicyError(
            f"surveys.recovery_category {surveys.recovery_category!r} is not a ticket "
            f"category ({known})"
        )
    return surveys


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where} must be a table ([{where}])")
    return value


def _int(value: Any, where: str, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{where} must be a whole number, not {value!r}") from exc
    if number < minimum:
        raise PolicyError(f"{where} must be at least {minimum}, not {number}")
    return number


def _positive(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{where} must be a number, not {value!r}") from exc
    if number <= 0:
        raise PolicyError(f"{where} must be above 0, not {number}")
    return number


def parse_clock_time(value: Any, where: str) -> time:
    """"09:00" as a time of day; the message names the key when it is not one."""
    text = str(value).strip()
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise PolicyError(
            f"{where} must be a time of day such as \"09:00\", not {text!r}"
        ) from exc


def _coupon_templates(raw: Any) -> tuple[CouponTemplate, ...]:
    coupons = _table(raw, "coupons")
    if "templates" not in coupons:
        return DEFAULT_COUPON_TEMPLATES
    found: list[CouponTemplate] = []
    for key, spec in _table(coupons["templates"], "coupons.templates").items():
        where = f"coupons.templates.{key}"
        spec = _table(spec, where)
        kind = str(spec.get("kind", "amount"))
        if kind not in COUPON_KINDS:
            raise PolicyError(
                f"{where}.kind must be one of {', '.join(COUPON_KINDS)}, not {kind!r}"
            )
        value = _decimal(spec.get("value", 0), f"{where}.value")
        if kind == "amount" and value <= 0:
            raise PolicyError(f"{where}.value must be an amount above 0")
        if kind == "percent" and not 0 < value <= 100:
            raise PolicyError(f"{where}.value must be a percentage between 0 and 100")
        min_spend = _decimal(spec.get("min_spend", 0), f"{where}.min_spend")
        if min_spend < 0:
            raise PolicyError(f"{where}.min_spend must not be negative")
        stores = spec.get("stores", [])
        if not isinstance(stores, list):
            raise PolicyError(f"{where}.stores must be a list of store codes, e.g. [\"SH01\"]")
        name_en = str(spec.get("name_en", key))
        found.append(
            CouponTemplate(
                key=str(key),
                kind=kind,
                value=value,
                name_en=name_en,
                name_zh=str(spec.get("name_zh", name_en)),
                min_spend=min_spend,
                valid_days=_int(spec.get("valid_days", 30), f"{where}.valid_days", 1),
                stores=tuple(str(code).upper() for code in stores),
            )
        )
    return tuple(found)


def _exchange(raw: Any, templates: tuple[CouponTemplate, ...]) -> tuple[ExchangeReward, ...]:
    coupons = _table(raw, "coupons")
    entries: tuple[ExchangeReward, ...]
    if "exchange" not in coupons:
        entries = DEFAULT_EXCHANGE
    else:
        items = coupons["exchange"]
        if not isinstance(items, list):
            raise PolicyError("coupons.exchange must be a list of [[coupons.exchange]] tables")
        built = []
        for i, spec in enumerate(items):
            where = f"coupons.exchange[{i}]"
            spec = _table(spec, where)
            if "template" not in spec:
                raise PolicyError(f"{where} needs the template of the coupon it gives")
            template = str(spec["template"])
            built.append(
                ExchangeReward(
                    key=str(spec.get("key", template)),
                    points=_int(spec.get("points"), f"{where}.points", 1),
                    template=template,
                )
            )
        entries = tuple(built)
    keys = {t.key for t in templates}
    for reward in entries:
        if reward.template not in keys:
            raise PolicyError(
                f"coupons.exchange {reward.key!r} names the template {reward.template!r}, "
                "which is not among [coupons.templates]"
            )
        # The key travels in button data (64 bytes at most) next to a nonce.
        if not reward.key.isidentifier() or len(reward.key) > 24:
            raise PolicyError(
                f"coupons.exchange key {reward.key!r} must be a short name of letters, digits "
                "and _ (at most 24)"
            )
    if len({r.key for r in entries}) != len(entries):
        raise PolicyError("coupons.exchange lists the same key twice")
    return entries


def _birthday(raw: Any, templates: tuple[CouponTemplate, ...]) -> BirthdayPolicy:
    spec = _table(raw, "birthday")
    template = str(spec.get("template", BirthdayPolicy.template))
    if template and template not in {t.key for t in templates}:
        raise PolicyError(
            f"birthday.template {template!r} is not among [coupons.templates] "
            "(use \"\" to switch birthday gifts off)"
        )
    return BirthdayPolicy(
        template=template,
        send_at=parse_clock_time(spec.get("send_at", "09:00"), "birthday.send_at"),
        catch_up_days=_int(spec.get("catch_up_days", 3), "birthday.catch_up_days", 0),
    )


def _delivery(raw: Any) -> DeliveryPolicy:
    spec = _table(raw, "delivery")
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
    backoff = _positive(spec.get("backoff_seconds", 30), "delivery.backoff_seconds")
    return DeliveryPolicy(
        rate_per_second=_positive(spec.get("rate_per_second", 25), "delivery.rate_per_second"),
        per_chat_interval=_positive(
            spec.get("per_chat_interval_seconds", 1), "delivery.per_chat_interval_seconds"
        ),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        marketing_per_7_days=_int(
            spec.get("marketing_per_7_days", 2), "delivery.marketing_per_7_days", 0
        ),
        max_attempts=_int(spec.get("max_attempts", 5), "delivery.max_attempts", 1),
        backoff_seconds=backoff,
        backoff_max_seconds=max(
            backoff,
            _positive(spec.get("backoff_max_seconds", 3600), "delivery.backoff_max_seconds"),
        ),
        coupon_reminder_days=_int(
            spec.get("coupon_reminder_days", 3), "delivery.coupon_reminder_days", 0
        ),
    )
