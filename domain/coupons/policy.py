"""Coupon templates, the exchange catalogue and the birthday gift in retailbot.toml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from typing import Any

from domain.shared.errors import PolicyError
from domain.shared.policy_values import (
    array_of_tables,
    decimal_number,
    parse_clock_time,
    section,
    table,
    whole_number,
)
from domain.shared.text import in_language

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
        return in_language(lang, self.name_en, self.name_zh)


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


DEFAULT_COUPON_TEMPLATES = (
    CouponTemplate(
        "birthday", "amount", Decimal("20"), "Birthday gift: ¥20 off", "生日礼券：立减 20 元",
        min_spend=Decimal("100"), valid_days=30,
    ),
    CouponTemplate(
        "ten_off", "amount", Decimal("10"), "¥10 off your shopping", "购物立减 10 元",
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
class CouponPolicy:
    """What [coupons] and [birthday] say; the Policy keeps them as `coupon_templates`,
    `exchange` and `birthday`."""

    templates: tuple[CouponTemplate, ...] = DEFAULT_COUPON_TEMPLATES
    exchange: tuple[ExchangeReward, ...] = DEFAULT_EXCHANGE
    birthday: BirthdayPolicy = field(default_factory=BirthdayPolicy)


def coupon_policy_from_mapping(data: Mapping[str, Any]) -> CouponPolicy:
    """Read [coupons] and [birthday] from the whole policy file (both sit at its top).

    The exchange catalogue and the birthday gift must name templates that exist.
    """
    coupons = section(data, "coupons")
    templates = _templates(coupons)
    return CouponPolicy(
        templates=templates,
        exchange=_exchange(coupons, templates),
        birthday=_birthday(section(data, "birthday"), templates),
    )


def _templates(coupons: Mapping[str, Any]) -> tuple[CouponTemplate, ...]:
    if "templates" not in coupons:
        return DEFAULT_COUPON_TEMPLATES
    found: list[CouponTemplate] = []
    for key, raw in table(coupons["templates"], "coupons.templates").items():
        where = f"coupons.templates.{key}"
        spec = table(raw, where)
        kind = str(spec.get("kind", "amount"))
        if kind not in COUPON_KINDS:
            raise PolicyError(
                f"{where}.kind must be one of {', '.join(COUPON_KINDS)}, not {kind!r}"
            )
        value = decimal_number(spec.get("value", 0), f"{where}.value")
        if kind == "amount" and value <= 0:
            raise PolicyError(f"{where}.value must be an amount above 0")
        if kind == "percent" and not 0 < value <= 100:
            raise PolicyError(f"{where}.value must be a percentage between 0 and 100")
        min_spend = decimal_number(spec.get("min_spend", 0), f"{where}.min_spend")
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
                valid_days=whole_number(spec.get("valid_days", 30), f"{where}.valid_days", 1),
                stores=tuple(str(code).upper() for code in stores),
            )
        )
    return tuple(found)


def _exchange(
    coupons: Mapping[str, Any], templates: tuple[CouponTemplate, ...]
) -> tuple[ExchangeReward, ...]:
    entries: tuple[ExchangeReward, ...]
    if "exchange" not in coupons:
        entries = DEFAULT_EXCHANGE
    else:
        built = []
        for i, spec in enumerate(array_of_tables(coupons["exchange"], "coupons.exchange")):
            where = f"coupons.exchange[{i}]"
            if "template" not in spec:
                raise PolicyError(f"{where} needs the template of the coupon it gives")
            template = str(spec["template"])
            built.append(
                ExchangeReward(
                    key=str(spec.get("key", template)),
                    points=whole_number(spec.get("points"), f"{where}.points", 1),
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


def _birthday(spec: Mapping[str, Any], templates: tuple[CouponTemplate, ...]) -> BirthdayPolicy:
    template = str(spec.get("template", BirthdayPolicy.template))
    if template and template not in {t.key for t in templates}:
        raise PolicyError(
            f"birthday.template {template!r} is not among [coupons.templates] "
            "(use \"\" to switch birthday gifts off)"
        )
    return BirthdayPolicy(
        template=template,
        send_at=parse_clock_time(spec.get("send_at", "09:00"), "birthday.send_at"),
        catch_up_days=whole_number(spec.get("catch_up_days", 3), "birthday.catch_up_days", 0),
    )
