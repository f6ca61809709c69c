"""Satisfaction arithmetic: CSAT (share of 4-5 on 1-5) and NPS (promoters minus detractors)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from domain.shared.text import parse_id, parse_number
from domain.surveys.model import Scores, SurveyKind

if TYPE_CHECKING:
    from domain.surveys.policy import SurveyPolicy


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

BUTTON_PREFIX = "sv"  # sv:<invitation id>:<score>:<check>
SKIP_PREFIX = "svk"  # svk:<invitation id>: no comment
TOKEN_BYTES = 3  # six hex characters: a forged button must also guess these


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
    invitation_id, score = parse_id(raw_id), parse_number(raw_score, maximum=10)
    if invitation_id is None or score is None:
        return None
    if not re.fullmatch(r"[0-9a-f]{6}", token):
        return None
    return invitation_id, score, token


def score_buttons(kind: SurveyKind, invitation_id: int, token: str) -> list[list[dict[str, str]]]:
    """Outbox buttons for a scale: 1-5 in one row; 0-10 in two rows (a row fits about 8)."""
    scale = list(kind.scale)
    rows = [scale] if kind is SurveyKind.CSAT else [scale[:6], scale[6:]]
    return [
        [{"text": str(score), "data": score_data(invitation_id, score, token)} for score in row]
        for row in rows
    ]


def weekly_key(week_from: date) -> str:
    year, week, _ = week_from.isocalendar()
    return f"survey:weekly:{year}-W{week:02d}"


def receipt_key(receipt_no: str) -> str:
    return f"survey:receipt:{receipt_no}"


def ticket_key(ticket_id: int) -> str:
    return f"survey:ticket:{ticket_id}"


def segment_key(label: str, member_id: int) -> str:
    return f"survey:segment:{label}:member:{member_id}"
