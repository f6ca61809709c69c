"""performance: a maintained points balance and expiry summary per member

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

Reserved in the history so the features built in parallel keep one line of migrations; the
feature fills in upgrade() and downgrade().
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No backfill: a member without a row is summed up from the ledger when first read.
    op.create_table(
        "points_summaries",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("as_of", UtcDateTime(timezone=True), nullable=True),
        sa.Column("lots", sa.JSON(), nullable=False),
        sa.Column("recent", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_points_summaries_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_points_summaries")),
    )


def downgrade() -> None:
    op.drop_table("points_summaries")
