"""hardening: handled update ids and other guards against a second worker

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

Telegram redelivers a webhook update it thinks failed, and a polling process that crashed
before confirming sees its last updates again: `handled_updates` remembers each update id for
a while so it is handled once, whichever worker it reaches.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handled_updates",
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("handled_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", "update_id", name="pk_handled_updates"),
    )
    op.create_index("ix_handled_updates_handled_at", "handled_updates", ["handled_at"])


def downgrade() -> None:
    op.drop_index("ix_handled_updates_handled_at", table_name="handled_updates")
    op.drop_table("handled_updates")
