"""Pure privacy decisions: which consent wins a merge, and how alike two members are."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz

from domain.privacy.model import Consent, DuplicatePair, MemberFacts, Purpose

# Scores of each kind of evidence, out of 100 for a pair: a shared phone is the same person
# (a phone links the chat account), a name and full birthday nearly so; a close name alone is
# common (two 王芳 in one city), so it only counts at the same store with other evidence.
SAME_PHONE = 100
SAME_NAME_AND_BIRTHDAY = 90
CLOSE_NAME = 40
SAME_BIRTHDAY = 30
SAME_STORE = 10
PHONE_LAST4 = 20
CLOSE_NAME_RATIO = 80.0  # rapidfuzz ratio of two normalised Latin names (0-100)
DEFAULT_MIN_SCORE = 60


def most_restrictive(first: Consent | None, second: Consent | None, purpose: Purpose) -> bool:
    """What a merged member may be used for: a purpose stays on only when neither side said
    no, and an opt-in purpose (marketing) only when both said yes."""
    answers = [c.granted for c in (first, second) if c is not None]
    if purpose.opt_in:
        return len(answers) == 2 and all(answers)
    return all(answers)


def normal_name(name: str) -> str:
    """A name compared without case, spaces, punctuation or full-width forms: "Wang  Fang",
    "wang fang" and "ＷＡＮＧ　ＦＡＮＧ" are one name; Chinese characters stay as they are."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def name_similarity(a: str, b: str) -> float:
    """0-100; for Chinese names (short, no spaces) each character counts, and a swapped
    order (given name first) is forgiven for Latin names."""
    na, nb = normal_name(a), normal_name(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 100.0
    return max(fuzz.ratio(na, nb), fuzz.token_sort_ratio(a.casefold(), b.casefold()))


def _is_cjk(text: str) -> bool:
    return bool(text) and all("\u3400" <= ch <= "\u9fff" for ch in text)


def close_names(a: str, b: str) -> float | None:
    """How alike two different names are (0-100) when they are close enough to be one person
    mistyped, else None. A Chinese name has two to four characters, so one wrong character
    (晓 for 小, a homophone picked by the input method) is already a third of it: two names of
    the same length and surname that differ in one character count as close."""
    na, nb = normal_name(a), normal_name(b)
    similarity = name_similarity(a, b)
    if _is_cjk(na) and _is_cjk(nb):
        same_shape = len(na) == len(nb) >= 2 and na[0] == nb[0]
        if same_shape and sum(x != y for x, y in zip(na, nb, strict=True)) == 1:
            return similarity
        return None
    return similarity if similarity >= CLOSE_NAME_RATIO else None


def score_pair(a: MemberFacts, b: MemberFacts) -> DuplicatePair | None:
    """The evidence that `a` and `b` are one person, or None when there is too little."""
    evidence: list[str] = []
    score = 0
    if a.phone and a.phone == b.phone:
        evidence.append("same phone")
        score = max(score, SAME_PHONE)
    same_name = normal_name(a.name) == normal_name(b.name) and bool(normal_name(a.name))
    same_birthday = (
        a.birthday_md is not None
        and a.birthday_md == b.birthday_md
        and (a.birth_year is None or b.birth_year is None or a.birth_year == b.birth_year)
    )
    if same_name and same_birthday:
        evidence.append("same name and birthday")
        score = max(score, SAME_NAME_AND_BIRTHDAY)
    elif not same_name:
        similarity = close_names(a.name, b.name)
        same_store = a.home_store_id is not None and a.home_store_id == b.home_store_id
        if similarity is not None and same_store:
            others = []
            if same_birthday:
                others.append(("same birthday", SAME_BIRTHDAY))
            if a.phone and b.phone and a.phone[-4:] == b.phone[-4:]:
                others.append(("same last 4 digits of the phone", PHONE_LAST4))
            if others:  # a close name at one store is not enough on its own
                evidence.append(f"close names ({similarity:.0f}%)")
                evidence.append("same home store")
                evidence.extend(label for label, _ in others)
                score = max(
                    score,
                    min(89, CLOSE_NAME + SAME_STORE + sum(points for _, points in others)),
                )
    if not evidence:
        return None
    first, second = (a, b) if a.id < b.id else (b, a)
    return DuplicatePair(first, second, score, tuple(evidence))


def find_duplicates(
    members: Sequence[MemberFacts], min_score: int = DEFAULT_MIN_SCORE
) -> list[DuplicatePair]:
    """Likely duplicates among `members`, best first.

    Pairs are only compared inside blocks that could give evidence (one phone; one name and
    birthday; one store and birthday; one store and last four digits), never all against all:
    a chain of a million members has 10^12 pairs.
    """
    blocks: dict[tuple[object, ...], list[MemberFacts]] = {}

    def put(key: tuple[object, ...], member: MemberFacts) -> None:
        blocks.setdefault(key, []).append(member)

    for member in members:
        # Each kind of evidence has its block: a pair that shares none of them cannot score.
        if member.phone:
            put(("phone", member.phone), member)
            if member.home_store_id is not None:
                put(("store-last4", member.home_store_id, member.phone[-4:]), member)
        if member.birthday_md is not None:
            put(("name-birthday", normal_name(member.name), member.birthday_md), member)
            if member.home_store_id is not None:
                put(("store-birthday", member.home_store_id, member.birthday_md), member)
    seen: set[tuple[int, int]] = set()
    found: list[DuplicatePair] = []
    for block in blocks.values():
        for pair in _pairs(block):
            key = (min(pair[0].id, pair[1].id), max(pair[0].id, pair[1].id))
            if key in seen:
                continue
            seen.add(key)
            scored = score_pair(*pair)
            if scored is not None and scored.score >= min_score:
                found.append(scored)
    found.sort(key=lambda p: (-p.score, p.first.id, p.second.id))
    return found


def _pairs(block: Sequence[MemberFacts]) -> Iterable[tuple[MemberFacts, MemberFacts]]:
    for i, first in enumerate(block):
        for second in block[i + 1 :]:
            yield first, second
