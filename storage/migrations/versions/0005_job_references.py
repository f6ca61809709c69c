"""stored scheduler jobs point at the jobs' new modules (one package per feature)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

APScheduler keeps each job in `apscheduler_jobs` as a pickled state holding a textual reference
to the job's function. The jobs moved from scheduler/jobs.py, ticket_jobs.py and survey_jobs.py
into scheduler/jobs/<feature>.py; a stored job whose reference no longer imports is dropped by
APScheduler when it loads it, and with it the stored next run time (a daily run missed while
the bot was down would never happen). This rewrites the references in place, so each job keeps
its trigger and its next run time. Only the string is touched: the job state is unpickled with
APScheduler's own classes (its triggers), never with our scheduler package, and pickled again
with the protocol APScheduler writes with.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"  # APScheduler creates and owns it; it may not exist yet
PICKLE_PROTOCOL = pickle.HIGHEST_PROTOCOL  # SQLAlchemyJobStore's default, which we run with

# Old reference -> new reference. Written out, not imported: a migration records the names as
# they were at the time, and storage/ does not import scheduler/.
MOVED = {
    "scheduler.jobs:birthday_coupons": "scheduler.jobs.coupons:birthday_coupons",
    "scheduler.jobs:coupon_expiry": "scheduler.jobs.coupons:coupon_expiry",
    "scheduler.jobs:outbox_sender": "scheduler.jobs.messaging:outbox_sender",
    "scheduler.ticket_jobs:ticket_followups": "scheduler.jobs.tickets:ticket_followups",
    "scheduler.survey_jobs:survey_invitations": "scheduler.jobs.surveys:survey_invitations",
    "scheduler.survey_jobs:survey_weekly_summary": (
        "scheduler.jobs.surveys:survey_weekly_summary"
    ),
}

jobs_table = sa.table(
    JOBSTORE_TABLE,
    sa.column("id", sa.Unicode(191)),
    sa.column("job_state", sa.LargeBinary()),
)


def _rewrite_references(renames: dict[str, str]) -> None:
    """Point every stored job whose function reference is a key of `renames` at its value."""
    bind = op.get_bind()
    if not sa.inspect(bind).has_table(JOBSTORE_TABLE):
        return  # the scheduler never ran on this database: nothing is stored
    rows = bind.execute(sa.select(jobs_table.c.id, jobs_table.c.job_state)).all()
    for job_id, job_state in rows:
        try:
            state: Any = pickle.loads(bytes(job_state))
        except Exception:
            # Not ours to repair: APScheduler reports (and drops) such a row as it always has.
            log.warning("stored job %r could not be read; its reference is left as it is", job_id)
            continue
        if not isinstance(state, dict) or state.get("func") not in renames:
            continue
        state["func"] = renames[state["func"]]
        bind.execute(
            sa.update(jobs_table)
            .where(jobs_table.c.id == job_id)
            .values(job_state=pickle.dumps(state, PICKLE_PROTOCOL))
        )
        log.info("stored job %r now runs %s", job_id, state["func"])


def upgrade() -> None:
    _rewrite_references(MOVED)


def downgrade() -> None:
    _rewrite_references({new: old for old, new in MOVED.items()})
