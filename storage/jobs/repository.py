"""Scheduled jobs' runs and marks in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.jobs.model import JobRun
from storage.common import MAX_ERROR, _chunks, insert_ignoring_duplicates
from storage.jobs.tables import job_marks, job_runs


class SqlJobRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _ensure(self, name: str) -> None:
        await self.conn.execute(
            insert_ignoring_duplicates(self.conn, job_runs).values(name=name, result="", runs=0)
        )

    async def record_start(self, name: str, now: datetime) -> None:
        await self._ensure(name)
        await self.conn.execute(
            update(job_runs)
            .where(job_runs.c.name == name)
            .values(started_at=now, finished_at=None, ok=None, runs=job_runs.c.runs + 1)
        )

    async def record_finish(self, name: str, now: datetime, ok: bool, result: str) -> None:
        await self._ensure(name)
        await self.conn.execute(
            update(job_runs)
            .where(job_runs.c.name == name)
            .values(finished_at=now, ok=ok, result=result[:MAX_ERROR])
        )

    async def runs(self) -> dict[str, JobRun]:
        rows = await self.conn.execute(select(job_runs).order_by(job_runs.c.name))
        return {
            row.name: JobRun(
                name=row.name,
                started_at=row.started_at,
                finished_at=row.finished_at,
                ok=row.ok,
                result=row.result,
                runs=row.runs,
            )
            for row in rows
        }

    async def done(self, job: str, marks: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(set(marks))):
            rows = await self.conn.execute(
                select(job_marks.c.mark).where(job_marks.c.job == job, job_marks.c.mark.in_(chunk))
            )
            found.update(row.mark for row in rows)
        return found

    async def mark_done(self, job: str, mark: str, now: datetime) -> None:
        await self.conn.execute(
            insert_ignoring_duplicates(self.conn, job_marks).values(
                job=job, mark=mark, done_at=now
            )
        )
