"""Free text to intent or FAQ answer, forgiving typos, in Chinese and English (rapidfuzz).

How a message is read (chosen by measuring on the labelled corpus in tests/unit/conversation,
where the figures of each step are written down):

1. Folded: full width to half width, lower case, punctuation dropped, and the slips a pinyin
   keyboard makes every day put right (优惠卷/优惠劵 -> 优惠券, 积份 -> 积分, traditional
   characters, "jifen") by a small variant table.
2. Cut into features: English words (a plural "s" dropped, a mistyped word replaced by the
   closest word the phrases use, found with rapidfuzz) and Chinese characters and character
   pairs (Chinese has no spaces, and pairs catch words such as 兑换 without a segmenter).
3. Weighed: a feature that only one intent uses ("exchange", 兑) counts for more than one
   several share ("points", 积分), as inverse document frequency over intents; filler words
   ("please", 一下, 吗) count for little and words no phrase knows count fully against a match.
4. Scored per intent: how much of the message the intent's phrases explain, times how much of
   its closest phrase the message holds. A clear winner is answered; a close call or a middling
   score gives the top guesses, for the member to choose with buttons.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

if TYPE_CHECKING:
    from collections.abc import Iterable

    from domain.shared.policy import FaqEntry

# A score at least this high, clear of the runner-up by MARGIN, is acted on without asking.
SURE_SCORE = 0.62
MARGIN = 0.12
# Below this nothing is offered: the member gets the menu instead of far-fetched guesses.
GUESS_SCORE = 0.36
MAX_GUESSES = 3
# English words this close (0-100) to a word of the phrases are read as that word; longer
# words need to be closer, or "something" would be read as "nothing".
TYPO_MIN_SCORE = 75.0
LONG_WORD_TYPO_MIN_SCORE = 80.0

# Slips of a pinyin keyboard, traditional characters and pinyin typed for characters; longest
# first, so a phrase is replaced before the characters inside it.
VARIANTS: tuple[tuple[str, str], ...] = (
    ("youhuiquan", "优惠券"),
    ("jifen", "积分"),
    ("积fen", "积分"),
    ("ji分", "积分"),
    ("积份", "积分"),
    ("积粉", "积分"),
    ("基分", "积分"),
    ("激分", "积分"),
    ("兑奂", "兑换"),
    ("对换", "兑换"),
    ("兑还", "兑换"),
    ("卷", "券"),  # in a shop's chat 卷 and 劵 are nearly always a mistyped 券 (coupon)
    ("劵", "券"),
    ("積", "积"),
    ("優", "优"),
    ("換", "换"),
    ("兌", "兑"),
    ("語", "语"),
    ("幫", "帮"),
    ("營", "营"),
    ("業", "业"),
    ("資", "资"),
    ("訊", "讯"),
    ("謝", "谢"),
    ("們", "们"),
    ("門", "门"),
    ("關", "关"),
    ("點", "点"),
    ("麼", "么"),
    ("貨", "货"),
    ("訴", "诉"),
    ("個", "个"),
    ("級", "级"),
    ("餘", "余"),
    ("額", "额"),
    ("碼", "码"),
    ("禮", "礼"),
)

# Words that carry little meaning on their own: they count a fifth of a normal word.
FILLER = frozenset(
    (
        "a", "an", "the", "i", "me", "my", "mine", "you", "your", "we", "our", "us", "it", "is",
        "are", "am", "be", "do", "does", "did", "can", "could", "would", "will", "to", "for", "of",
        "on", "in", "at", "with", "and", "or", "please", "pls", "plz", "want", "need", "like",
        "just", "now", "some", "any", "this", "that", "there", "here", "have", "has", "got", "get",
        "tell", "show", "see", "let", "how", "what", "much", "many",
        "我", "你", "您", "的", "了", "吗", "呢", "啊", "吧", "呀",
        "嘛", "哦", "一", "下", "一下", "是", "有", "在", "想", "要", "个", "请", "帮", "我的",
        "给", "看", "看看",
    )
)
FILLER_WEIGHT = 0.2
# Words that decide what a message is about whatever else it says: "exchange my points" is
# about exchanging, "the apples are rotten" is a complaint whatever fruit it names.
BOOSTS: dict[str, float] = {
    **dict.fromkeys(("exchange", "redeem", "swap", "trade", "兑", "兑换", "换券"), 2.0),
    **dict.fromkeys(("earn", "赚", "获得", "攒", "送"), 2.0),
    **dict.fromkeys(
        (
            "rotten", "expired", "mouldy", "moldy", "broken", "rude", "dirty", "sour", "stale",
            "overcharged", "spoiled", "bad", "坏", "坏的", "烂", "烂了", "霉", "发霉", "过期",
            "变质", "臭", "脏", "凶", "差", "投诉", "complain", "complaint", "smelly", "smell",
            "bug", "insect", "hair", "damaged", "leaking", "mushy", "poisoning", "ignored",
            "异味", "找错", "胀袋", "恶劣", "没人管", "虫", "漏", "不一样",
        ),
        3.0,
    ),
}
PAIR_WEIGHT = 0.8  # a character pair counts a little less than the word or character it spans

_RUNS = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+")


@dataclass(frozen=True)
class Match:
    kind: str  # "intent" or "faq"
    name: str  # intent name or FAQ key
    score: float


@dataclass(frozen=True)
class Guess:
    """What the matcher made of a message: one sure match, or guesses to offer, or nothing."""

    sure: Match | None = None
    guesses: tuple[Match, ...] = field(default=())

    @property
    def best(self) -> Match | None:
        return self.sure or (self.guesses[0] if self.guesses else None)


def normalise(text: str) -> str:
    """Lower case, full-width folded to half-width, punctuation dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in folded)
    return " ".join(kept.split())


def fold_variants(text: str) -> str:
    """`normalise`, then common slips of a pinyin keyboard put right (积份 -> 积分)."""
    folded = normalise(text)
    for wrong, right in VARIANTS:
        folded = folded.replace(wrong, right)
    return folded


def is_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def _stem(word: str) -> str:
    # Only the plural: "points" and "point" must meet, "does" and "is" stay as they are.
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _features(folded: str) -> list[str]:
    found: list[str] = []
    for run in _RUNS.findall(folded):
        if is_cjk(run):
            found.extend(run)
            found.extend(run[i : i + 2] for i in range(len(run) - 1))
        elif len(run) > 1 or run == "i" or run.isdigit():
            found.append(_stem(run))
    return found


class IntentMatcher:
    """Matches text against phrases of intents (points, help...) and of FAQ entries."""

    def __init__(
        self, intents: dict[str, tuple[str, ...]], faq: tuple[FaqEntry, ...], faq_min_score: float
    ) -> None:
        # faq_min_score (0-100, from the policy) raises the bar for FAQ answers when a chain
        # wants them rarer; the default 80 leaves the matcher's own bar as it is.
        self.faq_min_score = faq_min_score
        self._faq_bar = max(SURE_SCORE, faq_min_score / 100 - 0.18)
        self._labels: list[tuple[str, str]] = []
        self._phrases: list[list[frozenset[str]]] = []
        self._exact: dict[str, int] = {}
        targets = [(("intent", name), phrases) for name, phrases in intents.items()]
        targets += [(("faq", entry.key), entry.questions) for entry in faq]
        for target, phrases in targets:
            self._add(target, phrases)
        self._vocabulary = sorted(
            {f for sets in self._phrases for s in sets for f in s if not is_cjk(f)}
        )
        df: dict[str, int] = defaultdict(int)
        self._label_features: list[frozenset[str]] = []
        for sets in self._phrases:
            union = frozenset().union(*sets) if sets else frozenset()
            self._label_features.append(union)
            for feature in union:
                df[feature] += 1
        count = max(len(self._labels), 1)
        self._unknown_weight = math.log(1 + count)
        self._weights = {f: self._weight(f, math.log(1 + count / n)) for f, n in df.items()}

    def _add(self, target: tuple[str, str], phrases: Iterable[str]) -> None:
        sets = []
        index = len(self._labels)
        for phrase in phrases:
            folded = fold_variants(phrase)
            features = frozenset(_features(folded))
            if features:
                sets.append(features)
                self._exact.setdefault(folded, index)
        self._labels.append(target)
        self._phrases.append(sets)

    @staticmethod
    def _weight(feature: str, idf: float) -> float:
        if feature in FILLER:
            return FILLER_WEIGHT * idf
        boost = BOOSTS.get(feature, 1.0)
        if len(feature) == 2 and is_cjk(feature):
            return PAIR_WEIGHT * idf * boost
        return idf * boost

    def _w(self, feature: str) -> float:
        weight = self._weights.get(feature)
        if weight is not None:
            return weight
        return self._weight(feature, self._unknown_weight) * 0.5

    def _correct(self, features: list[str]) -> list[str]:
        """English words no phrase uses, replaced by the closest one that does (pionts)."""
        fixed = []
        for feature in features:
            if feature in self._weights or is_cjk(feature) or len(feature) < 4:
                fixed.append(feature)
                continue
            cutoff = TYPO_MIN_SCORE if len(feature) <= 5 else LONG_WORD_TYPO_MIN_SCORE
            best = process.extractOne(
                feature, self._vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff
            )
            fixed.append(best[0] if best is not None else feature)
        return fixed

    def scores(self, text: str) -> list[Match]:
        """Every intent and FAQ entry with its score (0-1), best first."""
        folded = fold_variants(text)
        if not folded:
            return []
        exact = self._exact.get(folded)
        query = set(self._correct(_features(folded)))
        if not query:
            return []
        total = sum(self._w(f) for f in query)
        found = []
        for index, (kind, name) in enumerate(self._labels):
            if index == exact:
                found.append(Match(kind, name, 1.0))
                continue
            explained = sum(self._w(f) for f in query & self._label_features[index]) / total
            if explained == 0:
                continue
            held = max(
                (sum(self._w(f) for f in query & p) / sum(self._w(f) for f in p)
                 for p in self._phrases[index]),
                default=0.0,
            )
            found.append(Match(kind, name, math.sqrt(explained * held)))
        found.sort(key=lambda m: -m.score)
        return found

    def guess(self, text: str) -> Guess:
        """A sure match, or up to three guesses worth offering, or nothing."""
        ranked = self.scores(text)
        if not ranked:
            return Guess()
        top = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        bar = self._faq_bar if top.kind == "faq" else SURE_SCORE
        if top.score >= 1.0 or (top.score >= bar and top.score - runner_up >= MARGIN):
            return Guess(sure=top)
        guesses = tuple(m for m in ranked[:MAX_GUESSES] if m.score >= GUESS_SCORE)
        return Guess(guesses=guesses)
