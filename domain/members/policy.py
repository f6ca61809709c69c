"""The FAQ of retailbot.toml: canned answers to the questions members ask in free text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.shared.policy_values import array_of_tables, number
from domain.shared.text import in_language


@dataclass(frozen=True)
class FaqEntry:
    """A canned answer with the questions it answers, in both languages."""

    key: str
    questions: tuple[str, ...]
    answer_en: str
    answer_zh: str

    def answer(self, lang: str) -> str:
        return in_language(lang, self.answer_en, self.answer_zh)


DEFAULT_FAQ = (
    FaqEntry(
        "hours",
        (
            "store hours", "opening hours", "when are you open", "what time do you close",
            "营业时间", "几点开门", "几点关门", "what time do you open", "are you open on sunday",
            "are you open on weekends", "are you open on holidays", "opening times",
            "when does the shop close", "closing time", "周末开门吗", "今天营业吗", "几点下班",
            "开到几点", "营业到几点", "节假日营业吗", "什么时候开门", "when do you shut",
            "open late",
        ),
        "Our stores are open every day from 8:00 to 22:00.",
        "我们的门店每天 8:00 至 22:00 营业。",
    ),
    FaqEntry(
        "returns",
        (
            "returns", "return policy", "refund", "can i return", "退货", "退款", "怎么退货",
            "how do i get a refund", "return an item", "exchange an item i bought",
            "how many days to return", "money back", "退换货", "退换货规则", "能退吗", "换货",
            "可以退款吗", "买错了", "退货政策",
        ),
        "Unopened goods can be returned within 7 days with the receipt; fresh food within 24 "
        "hours. Points earned on the purchase are taken back.",
        "未拆封商品凭小票 7 天内可退，生鲜 24 小时内可退。该笔消费所得积分将被扣回。",
    ),
    FaqEntry(
        "how_points",
        (
            "how do points work", "how to earn points", "earn points", "积分怎么算", "积分规则",
            "怎么赚积分", "how do i get more points", "when do points expire",
            "how are points calculated", "points rules", "怎样获得积分", "积分什么时候过期",
            "积分有效期", "消费多少钱给一分", "积分怎么来的", "怎么攒积分", "points per yuan",
            "do i get points when i shop", "送积分吗", "一块钱几个积分", "怎么多拿积分",
            "每消费一元",
        ),
        "You earn points on every purchase when you show your member number or phone at the "
        "till. Higher tiers earn more, and points expire 12 months after they were earned.",
        "结账时出示会员号或手机号，每笔消费都可获得积分。"
        "等级越高积分越多，积分在获得 12 个月后过期。",
    ),
)


@dataclass(frozen=True)
class FaqPolicy:
    """What [[faq]] and faq_min_score say; the Policy keeps them as `faq` and `faq_min_score`."""

    entries: tuple[FaqEntry, ...] = DEFAULT_FAQ
    min_score: float = 80.0  # how close (0-100) free text must be to a question


def faq_policy_from_mapping(data: Mapping[str, Any]) -> FaqPolicy:
    """Read [[faq]] and faq_min_score from the whole policy file (both sit at its top).

    Listing any [[faq]] entry replaces all the default answers.
    """
    entries = tuple(
        FaqEntry(
            key=str(spec.get("key", f"faq{i}")),
            questions=tuple(str(q) for q in spec.get("questions", [])),
            answer_en=str(spec.get("answer_en", "")),
            answer_zh=str(spec.get("answer_zh", spec.get("answer_en", ""))),
        )
        for i, spec in enumerate(array_of_tables(data.get("faq", []), "faq"))
    )
    return FaqPolicy(
        entries=entries or DEFAULT_FAQ,
        min_score=number(data.get("faq_min_score", FaqPolicy.min_score), "faq_min_score"),
    )
