"""Free text to intent or FAQ answer, forgiving typos, in Chinese and English (rapidfuzz)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

if TYPE_CHECKING:
    from domain.shared.policy import FaqEntry

INTENT_MIN_SCORE = 80.0


@dataclass(frozen=True)
class Match:
    kind: str  # "intent" or "faq"
    name: str  # intent name or FAQ key
    score: float


def normalise(text: str) -> str:
    """Lower case, full-width folded to half-width, punctuation dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in folded)
    return " ".join(kept.split())


class IntentMatcher:
    """Matches text against phrases of intents (points, help...) and of FAQ entries."""

    def __init__(
        self, intents: dict[str, tuple[str, ...]], faq: tuple[FaqEntry, ...], faq_min_score: float
    ) -> None:
        self._choices: list[str] = []
        self._targets: list[tuple[str, str]] = []
        for name, phrases in intents.items():
            for phrase in phrases:
                self._add(normalise(phrase), ("intent", name))
        for entry in faq:
            for phrase in entry.questions:
                self._add(normalise(phrase), ("faq", entry.key))
        self.faq_min_score = faq_min_score

    def _add(self, phrase: str, target: tuple[str, str]) -> None:
        if phrase:
            self._choices.append(phrase)
            self._targets.append(target)

    def match(self, text: str) -> Match | None:
        """The best intent or FAQ above its threshold, or None."""
        query = normalise(text)
        if not query or not self._choices:
            return None
        found = process.extract(query, self._choices, scorer=_score, limit=3)
        for _phrase, score, index in found:
            kind, name = self._targets[index]
            threshold = INTENT_MIN_SCORE if kind == "intent" else self.faq_min_score
            if score >= threshold:
                return Match(kind, name, float(score))
        return None


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _score(query: str, choice: str, **kwargs: object) -> float:
    # Chinese has no spaces between words, so a key phrase inside a longer sentence
    # ("查一下积分") is found by partial matching, scored a little below an exact match.
    if _is_cjk(choice) and 2 <= len(choice) <= len(query) and _is_cjk(query):
        return max(
            float(fuzz.ratio(query, choice)), 0.95 * float(fuzz.partial_ratio(choice, query))
        )
    # WRatio handles word order and partial phrases ("my points please"); for very short input
    # plain ratio is stricter, so "hi" does not match "hours".
    if len(query) <= 4 or len(choice) <= 4:
        return float(fuzz.ratio(query, choice))
    shorter, longer = sorted((len(query), len(choice)))
    if longer < 1.5 * shorter:
        return float(fuzz.WRatio(query, choice))
    # Where the lengths differ, WRatio also takes the partial token-set ratio, which is 100 as
    # soon as the two share one word: "my order never came" scored 85.5 against "my points".
    # The same parts without that one: a phrase must appear, not just one of its words.
    scale = 0.9 if longer < 8 * shorter else 0.6
    return max(
        float(fuzz.ratio(query, choice)),
        float(fuzz.partial_ratio(query, choice)) * scale,
        float(fuzz.token_set_ratio(query, choice)) * 0.95,
        float(fuzz.partial_token_sort_ratio(query, choice)) * scale * 0.95,
    )
