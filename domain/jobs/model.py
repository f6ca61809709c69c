"""A scheduled job's last run, as operators see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class JobRun:
    """The last run of a scheduled job, as `retailbot jobs list` shows it."""

    name: str
    started_at: datetime | None
    finished_at: datetime | None
    ok: bool | None  # None while running (or when it died mid-run)
    result: str
    runs: int
