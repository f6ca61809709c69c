"""The record of scheduled jobs' runs and of the pieces of work they finished."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from domain.jobs.model import JobRun


class JobRepository(Protocol):
    """Last run and result of each scheduled job, and which pieces of work are done."""

    async def record_start(self, name: str, now: datetime) -> None: ...
    async def record_finish(self, name: str, now: datetime, ok: bool, result: str) -> None: ...
    async def runs(self) -> dict[str, JobRun]: ...
    async def done(self, job: str, marks: Iterable[str]) -> set[str]: ...
    async def mark_done(self, job: str, mark: str, now: datetime) -> None: ...
