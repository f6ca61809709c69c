"""Satisfaction arithmetic: CSAT (share of 4-5 on 1-5) and NPS (promoters minus detractors)."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass


class SurveyKind(enum.StrEnum):
    CSAT = "csat"  # 1..5
    NPS = "nps"  # 0..10

    @property
    def scale(self) -> range:
        return range(1, 6) if self is SurveyKind.CSAT else range(0, 11)


def is_detractor(kind: SurveyKind, score: int) -> bool:
    """CSAT 1-2 or NPS 0-6: someone should call back."""
    return score <= 2 if kind is SurveyKind.CSAT else score <= 6


def is_promoter(kind: SurveyKind, score: int) -> bool:
    """NPS 9-10 (CSAT has no promoters; 4-5 are 'satisfied')."""
    return kind is SurveyKind.NPS and score >= 9


def check_score(kind: SurveyKind, score: int) -> int:
    if score not in kind.scale:
        raise ValueError(f"{score} is outside the {kind.value.upper()} scale")
    return score


@dataclass(frozen=True)
class Scores:
    """The figures of one group of answers; None where there is nothing to divide by."""

    answers: int
    invited: int
    csat_percent: float | None  # share of 4-5 among CSAT answers, in %
    nps: float | None  # % promoters - % detractors among NPS answers, -100..100
    response_rate: float | None  # answers / invitations, in %
    distribution: dict[int, int]


def csat_percent(scores: Iterable[int]) -> float | None:
    values = list(scores)
    if not values:
        return None
    return 100.0 * sum(1 for s in values if s >= 4) / len(values)


def nps(scores: Iterable[int]) -> float | None:
    values = list(scores)
    if not values:
        return None
    promoters = sum(1 for s in values if s >= 9)
    detractors = sum(1 for s in values if s <= 6)
    return 100.0 * (promoters - detractors) / len(values)


def summarise(answers: Iterable[tuple[SurveyKind, int]], invited: int) -> Scores:
    """Figures for a group: `answers` are (kind, score) pairs, `invited` the invitations sent."""
    by_kind: dict[SurveyKind, list[int]] = defaultdict(list)
    distribution: dict[int, int] = defaultdict(int)
    total = 0
    for kind, score in answers:
        by_kind[kind].append(score)
        distribution[score] += 1
        total += 1
    return Scores(
        answers=total,
        invited=invited,
        csat_percent=csat_percent(by_kind[SurveyKind.CSAT]),
        nps=nps(by_kind[SurveyKind.NPS]),
        response_rate=100.0 * total / invited if invited else None,
        distribution=dict(sorted(distribution.items())),
    )


def group_scores(
    answers: Iterable[tuple[Hashable, SurveyKind, int]],
    invited: dict[Hashable, int],
) -> dict[Hashable, Scores]:
    """Figures per group key (a store, a month, a (store, month) pair)."""
    grouped: dict[Hashable, list[tuple[SurveyKind, int]]] = defaultdict(list)
    for key, kind, score in answers:
        grouped[key].append((kind, score))
    keys = set(grouped) | set(invited)
    return {key: summarise(grouped.get(key, []), invited.get(key, 0)) for key in keys}


def summarise_counts(
    counts: Mapping[tuple[SurveyKind, int], int],
    invited: int,
    responded: int | None = None,
) -> Scores:
    """Figures from answer counts per (kind, score), as a database returns them grouped.

    `responded` is how many of the `invited` answered (counted on the invitations); without it
    the response rate is answers / invited, as in `summarise`.
    """
    by_kind: dict[SurveyKind, dict[int, int]] = defaultdict(dict)
    distribution: dict[int, int] = defaultdict(int)
    for (kind, score), n in counts.items():
        if n:
            by_kind[kind][score] = by_kind[kind].get(score, 0) + n
            distribution[score] += n
    total = sum(distribution.values())
    answered = total if responded is None else responded
    return Scores(
        answers=total,
        invited=invited,
        csat_percent=_counted_share(by_kind[SurveyKind.CSAT], lambda s: s >= 4),
        nps=_counted_nps(by_kind[SurveyKind.NPS]),
        response_rate=100.0 * answered / invited if invited else None,
        distribution=dict(sorted(distribution.items())),
    )


def _counted_share(counts: Mapping[int, int], good: Callable[[int], bool]) -> float | None:
    total = sum(counts.values())
    if not total:
        return None
    return 100.0 * sum(n for s, n in counts.items() if good(s)) / total


def _counted_nps(counts: Mapping[int, int]) -> float | None:
    total = sum(counts.values())
    if not total:
        return None
    promoters = sum(n for s, n in counts.items() if s >= 9)
    detractors = sum(n for s, n in counts.items() if s <= 6)
    return 100.0 * (promoters - detractors) / total
