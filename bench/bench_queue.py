"""/queue with 10,000 open tickets, against bare SELECTs of the same rows, in the same run.

The staff's /queue goes through the whole conversation: who is talking, the staff check, the 20
most urgent active tickets by the index on their SLA due time, the counts (active, past due,
unassigned), the staff names, and the translated text. Baselines on the same database:
- the bare SELECT of the 20 rows /queue shows (the floor for any queue);
- the SELECT of every open ticket (what a queue without the derived, indexed due time would
  have to read and sort).

    PYTHONPATH=. python bench/bench_queue.py [--tickets 10000] [--runs 200] [--pg URL]
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

from sqlalchemy import select

from bench.common import DESK_NOW, print_desk_figures, run_desk_bench, seed_desk, time_desk_command
from bot.bootstrap import App
from domain.members.model import Store
from domain.staff.model import StaffMember
from domain.tickets.model import ACTIVE_STATUSES, new_ticket
from storage.tickets.repository import queue_query, ticket_values
from storage.tickets.tables import tickets


async def seed(app: App, count: int, seed: int) -> None:
    """`count` active tickets opened over the last three days, a quarter of them assigned."""
    rng = random.Random(seed)
    policy = app.policy.tickets
    categories = [c.key for c in policy.categories]

    def rows(ids: list[int], store: Store, staff: list[StaffMember]) -> Iterator[dict[str, Any]]:
        for _ in range(count):
            opened = DESK_NOW - timedelta(minutes=rng.randrange(3 * 24 * 60))
            ticket = new_ticket(
                member_id=rng.choice(ids), category=rng.choice(categories),
                description="the milk was sour", at=opened, policy=policy,
                store_id=store.id,
            )
            ticket.status = rng.choice(ACTIVE_STATUSES)
            if ticket.status is not ACTIVE_STATUSES[0]:
                ticket.first_responded_at = opened + timedelta(minutes=30)
            if rng.random() < 0.25:
                ticket.assignee_id = rng.choice(staff).id
            ticket.next_check_at = ticket.next_check(policy)
            yield ticket_values(ticket)

    await seed_desk(app, tickets, "Q", count // 5, rows)


async def measure(label: str, app: App, args: argparse.Namespace, _: None, seeded: float) -> None:
    figures = await time_desk_command(
        app, "queue", "desk.queue", args.runs,
        shown=queue_query(20),
        every=(
            select(tickets)
            .where(tickets.c.status.in_([s.value for s in ACTIVE_STATUSES]))
            .order_by(tickets.c.sla_due_at)
        ),
    )
    print(f"\n{label}: {args.tickets} open tickets (seeded in {seeded:.1f} s), "
          f"{args.runs} runs")
    print_desk_figures(figures, "queue", 20, "open ticket")
    print(f"  first line shown: {figures.reply.text.splitlines()[1]}")


if __name__ == "__main__":
    run_desk_bench(__doc__, "tickets", seed, measure)
