"""Survey rules without storage: the [surveys] policy section, sampling, who may be asked.

What a survey asks and when lives in the policy file; the use cases that act on it are in
domain.surveys. Three triggers invite a member:

- a purchase: a share of receipts (`purchase_sample_percent`), picked by a hash of the receipt
  number so every rerun and every worker picks the same receipts, asked `purchase_delay_hours`
  after the purchase and never during quiet hours (the outbox holds the message until they end);
- a closed complaint ticket: always, unless the member answered a survey in the last
  `min_days_between` days (a complaint's outcome matters more than a sampled purchase);
- a segment (a campaign, or an operator with `retailbot surveys invite`).

The frequency limit: at most one invitation per member per `min_days_between` days whatever the
trigger. A ticket's invitation counts towards it (it holds back purchase and segment ones) and
is the one exception to it, as said above.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import PolicyError
from domain.survey_scores import SurveyKind, is_detractor, is_promoter

BUTTON_PREFIX = "sv"  # sv:<invitation id>:<score>:<check>
SKIP_PREFIX = "svk"  # svk:<invitation id>: no comment
TOKEN_BYTES = 3  # six hex characters: a forged button must also guess these


class Trigger(enum.StrEnum):
    RECEIPT = "receipt"
    TICKET = "ticket"
    SEGMENT = "segment"


class Mood(enum.StrEnum):
    """How an answer is acted on."""

    DETRACTOR = "detractor"  # CSAT 1-2, NPS 0-6: someone calls back
    PROMOTER = "promoter"  # NPS 9-10: thanked, maybe asked to recommend us
    NEUTRAL = "neutral"


def mood_of(kind: SurveyKind, score: int) -> Mood:
    if is_detractor(kind, score):
        return Mood.DETRACTOR
    if is_promoter(kind, score):
        return Mood.PROMOTER
    return Mood.NEUTRAL


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
        return self.question_zh if lang == "zh" else self.question_en

    def follow_up(self, lang: str) -> str:
        return self.follow_up_zh if lang == "zh" else self.follow_up_en

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


_KEY = re.compile(r"[a-z][a-z0-9_]{0,23}")


def survey_policy_from_mapping(data: Mapping[str, Any]) -> SurveyPolicy:
    """Read [surveys] of the policy file; raise PolicyError naming the key that is wrong."""
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
    percent = _number(data, "purchase_sample_percent", default.purchase_sample_percent)
    if not 0 <= percent <= 100:
        raise PolicyError("surveys.purchase_sample_percent must be between 0 and 100")
    delay = _number(data, "purchase_delay_hours", default.purchase_delay_hours)
    max_age = _number(data, "purchase_max_age_hours", default.purchase_max_age_hours)
    if delay < 0 or max_age <= delay:
        raise PolicyError(
            "surveys.purchase_delay_hours must be 0 or more and below "
            "surveys.purchase_max_age_hours"
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
        min_days_between=_whole(data, "min_days_between", default.min_days_between, 0),
        expire_days=_whole(data, "expire_days", default.expire_days, 1),
        message_kind=kind,
        recovery=bool(data.get("recovery", default.recovery)),
        recovery_category=str(data.get("recovery_category", default.recovery_category)),
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
    for key, spec in raw.items():
        where = f"surveys.definitions.{key}"
        if not isinstance(spec, Mapping):
            raise PolicyError(f"{where} must be a table")
        if not _KEY.fullmatch(str(key)):
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


def _number(data: Mapping[str, Any], name: str, default: float) -> float:
    value = data.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"surveys.{name} must be a number, not {value!r}") from exc


def _whole(data: Mapping[str, Any], name: str, default: int, minimum: int) -> int:
    value = data.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"surveys.{name} must be a whole number, not {value!r}") from exc
    if number < minimum:
        raise PolicyError(f"surveys.{name} must be at least {minimum}, not {number}")
    return number


# -- picking and pacing -----------------------------------------------------------------------


def sampled(receipt_no: str, percent: float) -> bool:
    """Whether a receipt is in the sample: a hash of its number, so every run agrees.

    The hash spreads receipt numbers evenly over 0..9999 whatever their format; `percent` of
    that range is in.
    """
    if percent <= 0:
        return False
    if percent >= 100:
        return True
    digest = hashlib.sha256(receipt_no.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 < round(percent * 100)


def may_invite(last_invited_at: datetime | None, now: datetime, policy: SurveyPolicy) -> bool:
    """The frequency limit for purchase and segment invitations."""
    return last_invited_at is None or now - last_invited_at >= timedelta(
        days=policy.min_days_between
    )


def may_invite_after_ticket(
    last_answered_at: datetime | None, now: datetime, policy: SurveyPolicy
) -> bool:
    """A closed ticket is asked about unless the member answered a survey lately."""
    return last_answered_at is None or now - last_answered_at >= timedelta(
        days=policy.min_days_between
    )


def new_token() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def score_data(invitation_id: int, score: int, token: str) -> str:
    """Callback data of a score button: 'sv:123456:10:a1b2c3', well under 64 bytes."""
    return f"{BUTTON_PREFIX}:{invitation_id}:{score}:{token}"


def parse_score_data(data: str) -> tuple[int, int, str] | None:
    """(invitation id, score, check) from a score button's data; None for anything else."""
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != BUTTON_PREFIX:
        return None
    _, raw_id, raw_score, token = parts
    if not (raw_id.isdigit() and raw_score.isdigit() and 0 < len(raw_id) <= 12):
        return None
    if not re.fullmatch(r"[0-9a-f]{6}", token):
        return None
    return int(raw_id), int(raw_score), token


def score_buttons(kind: SurveyKind, invitation_id: int, token: str) -> list[list[dict[str, str]]]:
    """Outbox buttons for a scale: 1-5 in one row; 0-10 in two rows (a row fits about 8)."""
    scale = list(kind.scale)
    rows = [scale] if kind is SurveyKind.CSAT else [scale[:6], scale[6:]]
    return [
        [{"text": str(score), "data": score_data(invitation_id, score, token)} for score in row]
        for row in rows
    ]


# -- calendar buckets -------------------------------------------------------------------------


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def month_of(day: date) -> str:
    """'2026-06': answers and invitations are counted by the chain's local month."""
    return f"{day.year:04d}-{day.month:02d}"
