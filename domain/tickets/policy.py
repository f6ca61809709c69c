"""The [tickets] section of retailbot.toml: categories, SLA hours, follow-ups, canned replies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.shared.errors import PolicyError
from domain.shared.policy_values import (
    array_of_tables,
    is_short_key,
    key_of,
    number,
    table,
    whole_number,
)
from domain.shared.text import in_language
from domain.tickets.model import Priority


@dataclass(frozen=True)
class SlaHours:
    """Hours to the first staff answer and to resolution."""

    first_response: float
    resolution: float


@dataclass(frozen=True)
class TicketCategory:
    key: str
    name_en: str
    name_zh: str
    priority: Priority = Priority.NORMAL

    def name(self, lang: str) -> str:
        return in_language(lang, self.name_en, self.name_zh)


@dataclass(frozen=True)
class CannedReply:
    key: str
    text_en: str
    text_zh: str

    def text(self, lang: str) -> str:
        return in_language(lang, self.text_en, self.text_zh)


DEFAULT_CATEGORIES = (
    TicketCategory("quality", "Product quality", "商品质量", Priority.HIGH),
    TicketCategory("service", "Service", "服务态度"),
    TicketCategory("billing", "Price / billing", "价格 / 结账"),
    TicketCategory("delivery", "Delivery", "配送"),
    TicketCategory("other", "Other", "其他"),
)

DEFAULT_SLA = {
    Priority.NORMAL: SlaHours(first_response=4, resolution=48),
    Priority.HIGH: SlaHours(first_response=1, resolution=24),
}

DEFAULT_CANNED = (
    CannedReply(
        "sorry",
        "We are sorry for the trouble. A colleague is looking into it and will get back to you.",
        "非常抱歉给您带来不便，同事正在处理，会尽快回复您。",
    ),
    CannedReply(
        "refund",
        "We have arranged a refund; it reaches your account within 3 working days.",
        "我们已为您安排退款，3 个工作日内到账。",
    ),
    CannedReply(
        "visit",
        "Please bring the item and your receipt to the service desk of any store.",
        "请携带商品和小票到任一门店服务台办理。",
    ),
)


@dataclass(frozen=True)
class TicketPolicy:
    """The helpdesk rules of the policy file ([tickets])."""

    categories: tuple[TicketCategory, ...] = DEFAULT_CATEGORIES
    sla: Mapping[Priority, SlaHours] = field(default_factory=lambda: dict(DEFAULT_SLA))
    # per category overrides of the SLA: {"quality": SlaHours(...)}
    category_sla: Mapping[str, SlaHours] = field(default_factory=dict)
    reminder_share: float = 0.8  # remind the assignee at this share of the SLA time
    reopen_days: int = 7  # a resolved ticket can be reopened by the member this long
    member_reminder_days: int = 2  # waiting on the member: remind after this long
    auto_close_days: int = 5  # waiting on the member: close after this long
    follow_up_days: int = 3  # check in with the member this long after closing
    canned: tuple[CannedReply, ...] = DEFAULT_CANNED
    staff_language: str = "en"  # of what the bot writes in the staff group ("zh" or "en")

    def category(self, key: str) -> TicketCategory | None:
        return next((c for c in self.categories if c.key == key), None)

    def category_or_last(self, key: str) -> str:
        """`key` when it is a category, else the last one ("other"): where a ticket opened on
        the member's behalf goes when what it came from names no category of ours."""
        return key if self.category(key) is not None else self.categories[-1].key

    def hours(self, category: str, priority: Priority) -> SlaHours:
        return self.category_sla.get(category) or self.sla.get(priority) or DEFAULT_SLA[priority]


def ticket_policy_from_mapping(data: Mapping[str, Any]) -> TicketPolicy:
    """Read [tickets] of the policy file; raise PolicyError naming the key that is wrong.

    `data` is the [tickets] table itself.
    """
    default = TicketPolicy()
    categories = tuple(
        _category(spec, f"tickets.categories[{i}]")
        for i, spec in enumerate(
            array_of_tables(data.get("categories", []), "tickets.categories")
        )
    )
    sla = dict(DEFAULT_SLA)
    for name, raw in table(data.get("sla", {}), "tickets.sla").items():
        sla[_priority(name, "tickets.sla")] = _sla(raw, f"tickets.sla.{name}")
    category_sla = {
        str(name): _sla(raw, f"tickets.category_sla.{name}")
        for name, raw in table(data.get("category_sla", {}), "tickets.category_sla").items()
    }
    canned = tuple(
        _canned_reply(spec, f"tickets.canned_replies[{i}]")
        for i, spec in enumerate(
            array_of_tables(data.get("canned_replies", []), "tickets.canned_replies")
        )
    )
    share = number(data.get("reminder_share", default.reminder_share), "tickets.reminder_share")
    if not 0 < share < 1:
        raise PolicyError("tickets.reminder_share must be between 0 and 1, such as 0.8")
    for kind, keys in (("categories", [c.key for c in categories]),
                       ("canned_replies", [c.key for c in canned])):
        for key in keys:
            if not is_short_key(key):
                raise PolicyError(
                    f"tickets.{kind}: key {key!r} must be 1-24 lower-case letters, digits or _"
                )
        if len(set(keys)) != len(keys):
            raise PolicyError(f"tickets.{kind}: every key must be different")
    staff_language = str(data.get("staff_language", default.staff_language))
    if staff_language not in ("zh", "en"):
        raise PolicyError(f"tickets.staff_language must be 'zh' or 'en', not {staff_language!r}")
    reminder = _days(data, "member_reminder_days", default.member_reminder_days)
    auto_close = _days(data, "auto_close_days", default.auto_close_days)
    if reminder >= auto_close:
        raise PolicyError(
            "tickets.member_reminder_days must be fewer than tickets.auto_close_days: the "
            "reminder comes before the ticket closes"
        )
    return TicketPolicy(
        categories=categories or default.categories,
        sla=sla,
        category_sla=category_sla,
        reminder_share=share,
        reopen_days=_days(data, "reopen_days", default.reopen_days),
        member_reminder_days=reminder,
        auto_close_days=auto_close,
        follow_up_days=_days(data, "follow_up_days", default.follow_up_days),
        canned=canned or default.canned,
        staff_language=staff_language,
    )


def _category(spec: Mapping[str, Any], where: str) -> TicketCategory:
    key = key_of(spec, where)
    name_en = str(spec.get("name_en", key))
    return TicketCategory(
        key=key,
        name_en=name_en,
        name_zh=str(spec.get("name_zh", name_en)),
        priority=_priority(spec.get("priority", "normal"), where),
    )


def _canned_reply(spec: Mapping[str, Any], where: str) -> CannedReply:
    text_en = str(spec.get("text_en", ""))
    return CannedReply(key_of(spec, where), text_en, str(spec.get("text_zh", text_en)))


def _priority(raw: Any, where: str) -> Priority:
    try:
        return Priority(str(raw))
    except ValueError as exc:
        raise PolicyError(f"{where}: priority must be 'normal' or 'high', not {raw!r}") from exc


def _sla(raw: Mapping[str, Any], where: str) -> SlaHours:
    try:
        hours = SlaHours(float(raw["first_response_hours"]), float(raw["resolution_hours"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"{where} needs first_response_hours and resolution_hours") from exc
    if hours.first_response <= 0 or hours.resolution < hours.first_response:
        raise PolicyError(f"{where}: hours must be positive, resolution after first response")
    return hours


def _days(data: Mapping[str, Any], name: str, default: int) -> int:
    days = whole_number(data.get(name, default), f"tickets.{name}")
    if days < 1:
        raise PolicyError(f"tickets.{name} must be at least 1 day")
    return days
