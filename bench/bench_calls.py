"""/calls with 10,000 queued callbacks and 10,000 closed ones, against a bare SELECT of the
rows it shows, in the same run.

The staff's /calls goes through the whole conversation: who is talking, the staff check, the 10
most overdue calls that are unassigned or mine (by the index on status and due time), each
one's member, and the translated text with one button per call. The baseline on the same
database is the bare SELECT of the same 10 rows; a second one reads every queued call (what a
queue without the index on status and due time would have to read and sort).

    PYTHONPATH=. python bench/bench_calls.py [--calls 10000] [--runs 200] [--pg URL]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import or_, select

from bench.common import DESK_NOW, print_desk_figures, run_desk_bench, seed_desk, time_desk_command
from bot.bootstrap import App
from domain.callbacks.model import Callback, CallbackStatus, Channel, Outcome, Rule
from domain.members.model import Store
from domain.staff.model import StaffMember
from storage.callbacks.repository import CALLBACK_ROWS
from storage.callbacks.tables import callbacks


async def seed(app: App, count: int, seed: int) -> int:
    """`count` queued calls due over the last and next three days (a quarter held by one of ten
    agents), and as many closed ones; returns the bench agent's staff id."""
    rng = random.Random(seed)

    def rows(ids: list[int], store: Store, staff: list[StaffMember]) -> Iterator[dict[str, Any]]:
        for n, member_id in enumerate(ids):
            due = DESK_NOW + timedelta(minutes=rng.randrange(-3 * 24 * 60, 3 * 24 * 60))
            call = Callback(
                member_id=member_id, rule=rng.choice(list(Rule)), channel=Channel.CALL,
                status=CallbackStatus.QUEUED if n % 2 else CallbackStatus.DONE,
                dedupe_key=f"bench:{member_id}", created_at=due - timedelta(hours=4),
                due_at=due, context=f"T-{n:06d}", store_id=store.id,
            )
            if call.status is CallbackStatus.DONE:
                call.outcome, call.closed_at = Outcome.ALL_GOOD, due
            elif rng.random() < 0.25:
                call.assignee_id = rng.choice(staff).id
            yield CALLBACK_ROWS.values(call)

    staff = await seed_desk(app, callbacks, "C", count * 2, rows)
    assert staff[0].id is not None
    return staff[0].id


async def measure(
    label: str, app: App, args: argparse.Namespace, staff_id: int, seeded: float
) -> None:
    mine = or_(callbacks.c.assignee_id.is_(None), callbacks.c.assignee_id == staff_id)
    figures = await time_desk_command(
        app, "calls", "callbacks.queue", args.runs,
        shown=(
            select(callbacks)
            .where(callbacks.c.status == "queued", callbacks.c.due_at <= DESK_NOW, mine)
            .order_by(callbacks.c.due_at, callbacks.c.id).limit(10)
        ),
        every=select(callbacks).where(callbacks.c.status == "queued").order_by(
            callbacks.c.due_at
        ),
    )
    print(f"\n{label}: {args.calls} queued and {args.calls} closed callbacks "
          f"(seeded in {seeded:.1f} s), {args.runs} runs")
    print_desk_figures(figures, "calls", 10, "queued call")


if __name__ == "__main__":
    run_desk_bench(__doc__, "calls", seed, measure)
