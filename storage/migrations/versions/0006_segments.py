"""segments: member statistics, RFM scores, named segments, lifecycle, churn

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Reserved in the history so the features built in parallel keep one line of migrations; the
feature fills in upgrade() and downgrade().
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_stats",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("first_purchase_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_purchase_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("purchases", sa.Integer(), server_default="0", nullable=False),
        sa.Column("spend_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("window_purchases", sa.Integer(), server_default="0", nullable=False),
        sa.Column("window_spend_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_stats_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_stats")),
    )
    op.create_table(
        "member_segments",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), server_default="0", nullable=False),
        sa.Column("monetary_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("r", sa.SmallInteger(), nullable=True),
        sa.Column("f", sa.SmallInteger(), nullable=True),
        sa.Column("m", sa.SmallInteger(), nullable=True),
        sa.Column("segment", sa.String(length=32), nullable=True),
        sa.Column("lifecycle", sa.String(length=16), nullable=False),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("expected_purchases_90d", sa.Float(), nullable=True),
        sa.Column("churn_flag", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("high_value", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("refreshed_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_segments_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_segments")),
    )
    with op.batch_alter_table("member_segments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_segments_lifecycle"), ["lifecycle"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_member_segments_segment"), ["segment"], unique=False)

    op.create_table(
        "segment_refreshes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("window_start", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=16), nullable=False),
        sa.Column("bg_r", sa.Float(), nullable=True),
        sa.Column("bg_alpha", sa.Float(), nullable=True),
        sa.Column("bg_a", sa.Float(), nullable=True),
        sa.Column("bg_b", sa.Float(), nullable=True),
        sa.Column("log_likelihood", sa.Float(), nullable=True),
        sa.Column("note", sa.String(length=200), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_refreshes")),
    )
    with op.batch_alter_table("segment_refreshes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_refreshes_refreshed_at"), ["refreshed_at"], unique=False
        )

    op.create_table(
        "segment_sizes",
        sa.Column("refresh_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("monetary_cents", sa.BigInteger(), nullable=False),
        sa.Column("p_alive_sum", sa.Float(), nullable=False),
        sa.Column("p_alive_members", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["refresh_id"],
            ["segment_refreshes.id"],
            name=op.f("fk_segment_sizes_refresh_id_segment_refreshes"),
        ),
        sa.PrimaryKeyConstraint("refresh_id", "kind", "key", name=op.f("pk_segment_sizes")),
    )
    op.create_table(
        "segment_moves",
        sa.Column("refresh_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("old", sa.String(length=32), nullable=False),
        sa.Column("new", sa.String(length=32), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["refresh_id"],
            ["segment_refreshes.id"],
            name=op.f("fk_segment_moves_refresh_id_segment_refreshes"),
        ),
        sa.PrimaryKeyConstraint("refresh_id", "kind", "old", "new", name=op.f("pk_segment_moves")),
    )


def downgrade() -> None:
    op.drop_table("segment_moves")
    op.drop_table("segment_sizes")
    with op.batch_alter_table("segment_refreshes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_refreshes_refreshed_at"))
    op.drop_table("segment_refreshes")
    with op.batch_alter_table("member_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_segments_segment"))
        batch_op.drop_index(batch_op.f("ix_member_segments_lifecycle"))
    op.drop_table("member_segments")
    op.drop_table("member_stats")
