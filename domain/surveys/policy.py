"""The [surveys] section of retailbot.toml: what is asked, of whom and when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.shared.errors import PolicyError
from domain.shared.policy_values import is_short_key, number, table, whole_number
from domain.shared.text import in_language
from domain.surveys.model import SurveyKind


@dataclass(frozen=True)
class SurveyDefinition:
    """One survey: its scale, its question and an optional follow-up asking for a comment.

    Question texts may use {store} (the store of the purchase or ticket), {chain} and {ticket}
    (a ticket's number); an empty follow-up asks for no comment.
    """

    key: str
    kind: SurveyKind
    question_en: str
    question_zh: str
    follow_up_en: str = ""
    follow_up_zh: str = ""

    def question(self, lang: str) -> str:
        return in_language(lang, self.question_en, self.question_zh)

    def follow_up(self, lang: str) -> str:
        return in_language(lang, self.follow_up_en, self.follow_up_zh)

    @property
    def asks_comment(self) -> bool:
        return bool(self.follow_up_en or self.follow_up_zh)


DEFAULT_SURVEYS = (
    SurveyDefinition(
        "csat",
        SurveyKind.CSAT,
        "How satisfied were you with your visit to {store}? (1 = not at all, 5 = very)",
        "您对本次在{store}的购物满意吗？（1 = 很不满意，5 = 非常满意）",
        "Anything we could do better? Write a few words, or tap Skip.",
        "有什么我们可以做得更好的吗？请写几句话，或点「跳过」。",
    ),
    SurveyDefinition(
        "service",
        SurveyKind.CSAT,
        "How satisfied are you with how we handled your complaint {ticket}? "
        "(1 = not at all, 5 = very)",
        "您对我们处理投诉 {ticket} 的方式满意吗？（1 = 很不满意，5 = 非常满意）",
        "What should we have done differently? Write a few words, or tap Skip.",
        "我们哪里可以做得更好？请写几句话，或点「跳过」。",
    ),
    SurveyDefinition(
        "nps",
        SurveyKind.NPS,
        "How likely are you to recommend {chain} to a friend? "
        "(0 = not at all likely, 10 = extremely likely)",
        "您有多大可能向朋友推荐{chain}？（0 = 完全不可能，10 = 非常可能）",
        "What is the main reason for your score? Write a few words, or tap Skip.",
        "您打这个分的主要原因是什么？请写几句话，或点「跳过」。",
    ),
)

MESSAGE_KINDS = ("service", "marketing")


@dataclass(frozen=True)
class SurveyPolicy:
    """The [surveys] section of the policy file; every field has a safe default."""

    surveys: tuple[SurveyDefinition, ...] = DEFAULT_SURVEYS
    after_purchase: str = "csat"  # survey asked after a sampled purchase; "" for none
    purchase_sample_percent: float = 20.0  # share of receipts that lead to an invitation
    purchase_delay_hours: float = 2.0  # asked this long after the purchase
    purchase_max_age_hours: float = 24.0  # receipts imported later than this are not asked about
    after_ticket: str = "service"  # survey asked when a complaint ticket is closed; "" for none
    min_days_between: int = 30  # at most one invitation per member in this many days
    expire_days: int = 7  # an unanswered invitation closes after this many days
    message_kind: str = "service"  # "service" or "marketing" (needs consent, obeys the cap)
    recovery: bool = True  # a detractor's answer opens a ticket tagged "survey" for a call back
    recovery_category: str = "service"  # the ticket category of that ticket
    referral: bool = True  # promoters get a link to share with friends
    referral_link: str = "https://t.me/{bot}?start=ref_{member_no}"
    bot_username: str = ""  # for {bot} when the running bot has not told us its name

    def survey(self, key: str) -> SurveyDefinition | None:
        return next((s for s in self.surveys if s.key == key), None)

    def referral_url(self, member_no: str, bot_username: str | None) -> str | None:
        """The promoter's link, or None when referrals are off or the bot's name is unknown."""
        if not self.referral or not self.referral_link:
            return None
        bot = (bot_username or self.bot_username).lstrip("@")
        if "{bot}" in self.referral_link and not bot:
            return None
        return self.referral_link.format(bot=bot, member_no=member_no)


def survey_policy_from_mapping(
    data: Mapping[str, Any], ticket_categories: Sequence[str] | None = None
) -> SurveyPolicy:
    """Read [surveys] of the policy file; raise PolicyError naming the key that is wrong.

    `data` is the [surveys] table itself. `ticket_categories` are the keys of the complaint
    categories the call-back ticket may be filed in (recovery_category must be one of them
    while recovery is on); None when the section is read on its own, without that check.
    """
    default = SurveyPolicy()
    surveys = _definitions(data.get("definitions"), default.surveys)
    keys = {s.key for s in surveys}
    after_purchase = str(data.get("after_purchase", default.after_purchase))
    after_ticket = str(data.get("after_ticket", default.after_ticket))
    for name, value in (("after_purchase", after_purchase), ("after_ticket", after_ticket)):
        if value and value not in keys:
            raise PolicyError(
                f"surveys.{name} names the survey {value!r}, which is not among "
                f"[surveys.definitions] ({', '.join(sorted(keys))}); use \"\" for none"
            )
    percent = number(
        data.get("purchase_sample_percent", default.purchase_sample_percent),
        "surveys.purchase_sample_percent",
    )
    if not 0 <= percent <= 100:
        raise PolicyError("surveys.purchase_sample_percent must be between 0 and 100")
    delay = number(
        data.get("purchase_delay_hours", default.purchase_delay_hours),
        "surveys.purchase_delay_hours",
    )
    max_age = number(
        data.get("purchase_max_age_hours", default.purchase_max_age_hours),
        "surveys.purchase_max_age_hours",
    )
    if delay < 0 or max_age <= delay:
        raise PolicyError(
            "surveys.purchase_delay_hours must be 0 or more and below "
            "surveys.purchase_max_age_hours"
        )
    recovery = bool(data.get("recovery", default.recovery))
    recovery_category = str(data.get("recovery_category", default.recovery_category))
    if recovery and ticket_categories is not None and recovery_category not in ticket_categories:
        raise PolicyError(
            f"surveys.recovery_category {recovery_category!r} is not a ticket "
            f"category ({', '.join(ticket_categories)})"
        )
    kind = str(data.get("message_kind", default.message_kind))
    if kind not in MESSAGE_KINDS:
        raise PolicyError(f"surveys.message_kind must be 'service' or 'marketing', not {kind!r}")
    link = str(data.get("referral_link", default.referral_link))
    try:
        link.format(bot="bot", member_no="1")
    except (KeyError, IndexError, ValueError) as exc:
        raise PolicyError(
            "surveys.referral_link may use only {bot} and {member_no}, not " + repr(link)
        ) from exc
    return SurveyPolicy(
        surveys=surveys,
        after_purchase=after_purchase,
        purchase_sample_percent=percent,
        purchase_delay_hours=delay,
        purchase_max_age_hours=max_age,
        after_ticket=after_ticket,
        min_days_between=whole_number(
            data.get("min_days_between", default.min_days_between), "surveys.min_days_between", 0
        ),
        expire_days=whole_number(
            data.get("expire_days", default.expire_days), "surveys.expire_days", 1
        ),
        message_kind=kind,
        recovery=recovery,
        recovery_category=recovery_category,
        referral=bool(data.get("referral", default.referral)),
        referral_link=link,
        bot_username=str(data.get("bot_username", default.bot_username)).lstrip("@"),
    )


def _definitions(
    raw: Any, default: tuple[SurveyDefinition, ...]
) -> tuple[SurveyDefinition, ...]:
    if raw is None:
        return default
    if not isinstance(raw, Mapping):
        raise PolicyError("surveys.definitions must be tables such as [surveys.definitions.nps]")
    found = []
    for key, raw_spec in raw.items():
        where = f"surveys.definitions.{key}"
        spec = table(raw_spec, where)
        if not is_short_key(str(key)):
            raise PolicyError(f"{where}: the key must be 1-24 lower-case letters, digits or _")
        try:
            kind = SurveyKind(str(spec.get("kind", "")))
        except ValueError as exc:
            raise PolicyError(f"{where}.kind must be 'csat' (1-5) or 'nps' (0-10)") from exc
        question_en = str(spec.get("question_en", "")).strip()
        if not question_en:
            raise PolicyError(f"{where} needs question_en (and question_zh)")
        follow_up_en = str(spec.get("follow_up_en", "")).strip()
        definition = SurveyDefinition(
            key=str(key),
            kind=kind,
            question_en=question_en,
            question_zh=str(spec.get("question_zh", question_en)).strip(),
            follow_up_en=follow_up_en,
            follow_up_zh=str(spec.get("follow_up_zh", follow_up_en)).strip(),
        )
        for text in (definition.question_en, definition.question_zh):
            _check_placeholders(text, f"{where}.question")
        found.append(definition)
    if not found:
        raise PolicyError("surveys.definitions is empty: leave it out to keep the defaults")
    return tuple(found)


def _check_placeholders(text: str, where: str) -> None:
    try:
        text.format(store="", chain="", ticket="")
    except (KeyError, IndexError, ValueError) as exc:
        raise PolicyError(
            f"{where} may use only {{store}}, {{chain}} and {{ticket}}: {text!r}"
        ) from exc
