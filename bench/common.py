"""Helpers the benchmarks share: a throwaway PostgreSQL database and percentile figures."""

from __future__ import annotations

import argparse
import os
import statistics
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.engine import create_engine


@asynccontextmanager
async def temporary_postgres(base_url: str) -> AsyncIterator[str]:
    """A new database on the server of `base_url`, dropped when the block ends."""
    admin = make_url(base_url).set(drivername="postgresql+asyncpg")
    name = f"rb_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(
        admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


def percentile(samples: list[float], share: float) -> float:
    """The value below which `share` of the samples fall (nearest rank)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def describe(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"p50 {percentile(ms, 0.5):6.2f} ms  p99 {percentile(ms, 0.99):6.2f} ms  "
        f"mean {statistics.fmean(ms):6.2f} ms"
    )


def median(samples: list[float]) -> float:
    return sorted(samples)[len(samples) // 2]


def add_pg_option(parser: argparse.ArgumentParser) -> None:
    """`--pg URL`: also measure on a throwaway database of this PostgreSQL server."""
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"),
                        help="a PostgreSQL server URL (default: TEST_DATABASE_URL)")


PG_SKIPPED = "PostgreSQL skipped: pass --pg URL or set TEST_DATABASE_URL"
