"""Survey figures: CSAT, NPS and response rate by store, month and category, and the weekly
summary for the staff group.

The database does the counting (GROUP BY store, month, kind, category, score, over a covering
index), so a million answers come back as a few hundred rows and the arithmetic of
domain.surveys.rules runs on counts. Months are the chain's local months, fixed when the answer
(or invitation) was written: bucketing needs no time-zone functions in SQL, which SQLite and
PostgreSQL spell differently.

Scores are counted by the month of the answer; the response rate by the month of the
invitation (how many of that month's invitations were answered, whenever), so a late answer
never makes a rate above 100 %.

Charts are presentation: domain asks for them through the `SurveyCharts` port, which bot/
implements with matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass


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
