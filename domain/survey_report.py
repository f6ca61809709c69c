"""Survey figures: CSAT, NPS and response rate by store, month and category, and the weekly
summary for the staff group.

The database does the counting (GROUP BY store, month, kind, category, score, over a covering
index), so a million answers come back as a few hundred rows and the arithmetic of
domain.survey_scores runs on counts. Months are the chain's local months, fixed when the answer
(or invitation) was written: bucketing needs no time-zone functions in SQL, which SQLite and
PostgreSQL spell differently.

Scores are counted by the month of the answer; the response rate by the month of the
invitation (how many of that month's invitations were answered, whenever), so a late answer
never makes a rate above 100 %.

Charts are presentation: domain asks for them through the `SurveyCharts` port, which bot/
implements with matplotlib.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from domain.errors import InvalidInput
from domain.members import Store
from domain.outbox import MessageKind, OutboxMessage, queue_message
from domain.policy import Policy
from domain.ports import UnitOfWork
from domain.survey_rules import local_day, month_of
from domain.survey_scores import Scores, SurveyKind, summarise_counts

NO_STORE = "-"  # answers of members without a home store, asked by segment
TREND_MONTHS = 6
WEEKLY_COMMENTS = 5
COMMENT_SHOWN = 200


@dataclass(frozen=True)
class AnswerCount:
    """One group of answers as the database counts them."""

    store_id: int | None
    month: str
    kind: SurveyKind
    category: str
    score: int
    count: int


@dataclass(frozen=True)
class InvitationCount:
    """Invitations of one store, month and kind, and how many of them were answered."""

    store_id: int | None
    month: str
    kind: SurveyKind
    invited: int
    answered: int


@dataclass(frozen=True)
class LowComment:
    """A comment for the weekly summary, with who gave it and where."""

    kind: SurveyKind
    score: int
    comment: str
    answered_at: datetime
    member_no: str
    store_code: str | None


@dataclass(frozen=True)
class TrendPoint:
    month: str
    nps: float | None
    answers: int  # NPS answers that month


@dataclass(frozen=True)
class StoreBar:
    store: str  # "SH01 人民广场店"
    csat_percent: float | None
    answers: int  # CSAT answers


class SurveyCharts(Protocol):
    """Draws the report's charts as PNG bytes, with `title` in the picture and its metadata."""

    def nps_trend(self, points: Sequence[TrendPoint], title: str) -> bytes: ...
    def csat_by_store(self, bars: Sequence[StoreBar], title: str) -> bytes: ...
    def distribution(
        self, counts: Mapping[SurveyKind, Mapping[int, int]], title: str
    ) -> bytes: ...


@dataclass
class SurveyReport:
    """The figures of a period, cut every way the report shows them."""

    day_from: date
    day_to: date
    timezone: str
    store_code: str | None
    cells: dict[tuple[str, str], Scores] = field(default_factory=dict)  # (store, month)
    by_store: dict[str, Scores] = field(default_factory=dict)
    by_month: dict[str, Scores] = field(default_factory=dict)
    by_category: dict[str, Scores] = field(default_factory=dict)
    total: Scores = field(default_factory=lambda: summarise_counts({}, 0))
    distribution: dict[SurveyKind, dict[int, int]] = field(default_factory=dict)
    store_names: dict[str, str] = field(default_factory=dict)  # code -> name

    nps_answers: dict[str, int] = field(default_factory=dict)  # month -> NPS answers
    csat_answers: dict[str, int] = field(default_factory=dict)  # store -> CSAT answers

    def trend(self) -> list[TrendPoint]:
        """NPS per month, every month of the period shown (empty ones as gaps)."""
        return [
            TrendPoint(
                month,
                self.by_month[month].nps if month in self.by_month else None,
                self.nps_answers.get(month, 0),
            )
            for month in months_between(self.day_from, self.day_to)
        ]

    def store_bars(self) -> list[StoreBar]:
        """CSAT per store, in store-code order."""
        bars = []
        for code in sorted(self.by_store):
            name = self.store_names.get(code, "")
            label = f"{code} {name}".strip() if code != NO_STORE else NO_STORE
            bars.append(
                StoreBar(label, self.by_store[code].csat_percent, self.csat_answers.get(code, 0))
            )
        return bars


def months_between(first: date, last: date) -> list[str]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


async def survey_report(
    uow: UnitOfWork,
    policy: Policy,
    day_from: date,
    day_to: date,
    store_code: str | None = None,
) -> SurveyReport:
    """The figures of the local days `day_from`..`day_to` (inclusive), optionally of one store."""
    if day_to < day_from:
        raise InvalidInput(f"the period ends ({day_to}) before it starts ({day_from})")
    stores = {s.id: s for s in await uow.stores.list() if s.id is not None}
    store_id = None
    if store_code:
        found = next((s for s in stores.values() if s.code == store_code.upper()), None)
        if found is None:
            raise InvalidInput(f"there is no store with the code {store_code.upper()}")
        store_id = found.id
    answers = await uow.surveys.answer_counts(day_from, day_to, store_id)
    invitations = await uow.surveys.invitation_counts(day_from, day_to, store_id)
    return build_report(
        answers, invitations, stores, day_from, day_to, policy.timezone,
        store_code.upper() if store_code else None,
    )


def _code(stores: Mapping[int, Store], store_id: int | None) -> str:
    store = stores.get(store_id) if store_id is not None else None
    return store.code if store else NO_STORE


def build_report(
    answers: Sequence[AnswerCount],
    invitations: Sequence[InvitationCount],
    stores: Mapping[int, Store],
    day_from: date,
    day_to: date,
    timezone: str,
    store_code: str | None = None,
) -> SurveyReport:
    """Roll the counted groups up into the report's cuts (plain arithmetic, no database)."""
    Counts = dict[tuple[SurveyKind, int], int]
    cell: dict[tuple[str, str], Counts] = defaultdict(lambda: defaultdict(int))
    store_c: dict[str, Counts] = defaultdict(lambda: defaultdict(int))
    month_c: dict[str, Counts] = defaultdict(lambda: defaultdict(int))
    category_c: dict[str, Counts] = defaultdict(lambda: defaultdict(int))
    total: Counts = defaultdict(int)
    distribution: dict[SurveyKind, dict[int, int]] = {
        kind: {score: 0 for score in kind.scale} for kind in SurveyKind
    }
    nps_answers: dict[str, int] = defaultdict(int)
    csat_answers: dict[str, int] = defaultdict(int)
    for row in answers:
        code = _code(stores, row.store_id)
        key = (row.kind, row.score)
        cell[(code, row.month)][key] += row.count
        store_c[code][key] += row.count
        month_c[row.month][key] += row.count
        category_c[row.category or "-"][key] += row.count
        total[key] += row.count
        distribution[row.kind][row.score] = distribution[row.kind].get(row.score, 0) + row.count
        if row.kind is SurveyKind.NPS:
            nps_answers[row.month] += row.count
        else:
            csat_answers[code] += row.count
    invited: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for inv in invitations:
        code = _code(stores, inv.store_id)
        for key2 in ((code, inv.month), (code, "*"), ("*", inv.month), ("*", "*")):
            invited[key2][0] += inv.invited
            invited[key2][1] += inv.answered

    def scores(counts: Mapping[tuple[SurveyKind, int], int], key2: tuple[str, str]) -> Scores:
        sent, answered = invited.get(key2, [0, 0])
        return summarise_counts(counts, sent, answered)

    keys = set(cell) | {k for k in invited if "*" not in k}
    report = SurveyReport(day_from, day_to, timezone, store_code)
    report.cells = {k: scores(cell.get(k, {}), k) for k in sorted(keys)}
    store_keys = set(store_c) | {k[0] for k in invited if k[0] != "*"}
    report.by_store = {c: scores(store_c.get(c, {}), (c, "*")) for c in sorted(store_keys)}
    month_keys = set(month_c) | {k[1] for k in invited if k[1] != "*"}
    report.by_month = {m: scores(month_c.get(m, {}), ("*", m)) for m in sorted(month_keys)}
    report.by_category = {
        c: summarise_counts(counts, 0) for c, counts in sorted(category_c.items())
    }
    report.total = scores(total, ("*", "*"))
    report.distribution = distribution
    report.store_names = {s.code: s.name for s in stores.values()}
    report.nps_answers = dict(nps_answers)
    report.csat_answers = dict(csat_answers)
    return report


# -- the weekly summary -----------------------------------------------------------------------


def previous_week(today: date) -> tuple[date, date]:
    """Monday to Sunday of the week before the one `today` is in."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def figure(value: float | None, suffix: str = "") -> str:
    """'87.5 %', '+12', or '—' when there is nothing to divide by."""
    if value is None:
        return "—"
    if suffix:
        return f"{value:.1f}{suffix}"
    return f"{value:+.0f}"


def weekly_key(week_from: date) -> str:
    year, week, _ = week_from.isocalendar()
    return f"survey:weekly:{year}-W{week:02d}"


async def queue_weekly_summary(
    uow: UnitOfWork,
    policy: Policy,
    staff_chat_id: str | None,
    charts: SurveyCharts | None,
    now: datetime,
) -> str:
    """Last week's figures, the NPS trend chart and the lowest-scored comments, queued for the
    staff group once per week (the dedupe key names the ISO week). Returns what it did."""
    if not staff_chat_id:
        return "no staff chat (STAFF_CHAT_ID): nothing to post"
    week_from, week_to = previous_week(local_day(now, policy.timezone))
    key = weekly_key(week_from)
    if await uow.outbox.get_by_dedupe_key(key) is not None:
        return f"the summary of {week_from}..{week_to} was queued before"
    week = await survey_report(uow, policy, week_from, week_to)
    trend_from = _months_back(week_to, TREND_MONTHS - 1)
    trend = await survey_report(uow, policy, trend_from, week_to)
    comments = await uow.surveys.lowest_comments(week_from, week_to, WEEKLY_COMMENTS)
    photo = None
    if charts is not None:
        photo = charts.nps_trend(
            trend.trend(), f"NPS by month, {month_of(trend_from)} to {month_of(week_to)}"
        )
    total = week.total
    lines = [
        f"• {c.score}/{5 if c.kind is SurveyKind.CSAT else 10} {c.kind.value.upper()} · "
        f"{c.store_code or NO_STORE} · {c.member_no}: “{_short(c.comment)}”"
        for c in comments
    ]
    await queue_message(
        uow,
        OutboxMessage(
            dedupe_key=key,
            chat_id=staff_chat_id,
            kind=MessageKind.SERVICE,
            message_key="surveys.weekly",
            params={
                "week_from": week_from.isoformat(),
                "week_to": week_to.isoformat(),
                "answers": total.answers,
                "invited": total.invited,
                "response_rate": figure(total.response_rate, " %"),
                "csat": figure(total.csat_percent, " %"),
                "nps": figure(total.nps),
                "comments": "\n".join(lines) or "—",
            },
            photo=photo,
            language=policy.tickets.staff_language,
        ),
        now,
    )
    return f"summary of {week_from}..{week_to} queued: {total.answers} answers"


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= COMMENT_SHOWN else flat[: COMMENT_SHOWN - 1] + "…"
