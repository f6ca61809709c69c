"""Tables recording scheduled jobs' runs and finished pieces of work."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table, Text, UniqueConstraint

from storage.metadata import metadata
from storage.types import UtcDateTime

job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("ok", Boolean),
    Column("result", Text, nullable=False, server_default=""),
    Column("runs", Integer, nullable=False, server_default="0"),
)

# Pieces of scheduled work that are finished for good, e.g. the birthdays of one zone's day.
job_marks = Table(
    "job_marks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job", String(64), nullable=False),
    Column("mark", String(128), nullable=False),
    Column("done_at", UtcDateTime, nullable=False),
    UniqueConstraint("job", "mark"),
)
