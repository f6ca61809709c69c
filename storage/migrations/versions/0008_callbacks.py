"""callbacks: check-ins and the staff call queue with its log

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

Reserved in the history so the features built in parallel keep one line of migrations; the
feature fills in upgrade() and downgrade().
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("context", sa.String(length=120), server_default="", nullable=False),
        sa.Column("category", sa.String(length=32), server_default="", nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("checkin_until", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "checkin_queued_at", storage.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=16), server_default="", nullable=False),
        sa.Column("closed_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reminded", sa.String(length=8), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["staff.id"], name=op.f("fk_callbacks_assignee_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_callbacks_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_callbacks_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_callbacks_dedupe_key")),
    )
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_callbacks_member_id_created_at", ["member_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_callbacks_status_due_at", ["status", "due_at"], unique=False)
        batch_op.create_index(
            "ix_callbacks_status_checkin_until", ["status", "checkin_until"], unique=False
        )

    op.create_table(
        "callback_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), server_default="", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("call_again_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["callback_id"], ["callbacks.id"],
            name=op.f("fk_callback_log_callback_id_callbacks"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_callback_log_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_log")),
    )
    with op.batch_alter_table("callback_log", schema=None) as batch_op:
        batch_op.create_index("ix_callback_log_callback_id", ["callback_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_callback_log_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "callback_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_callback_flags_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_callback_flags_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_flags")),
    )
    with op.batch_alter_table("callback_flags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_callback_flags_member_id_kind", ["member_id", "kind"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("callback_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_flags_member_id_kind")
    op.drop_table("callback_flags")
    with op.batch_alter_table("callback_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_log_member_id"))
        batch_op.drop_index("ix_callback_log_callback_id")
    op.drop_table("callback_log")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_callbacks_status_checkin_until")
        batch_op.drop_index("ix_callbacks_status_due_at")
        batch_op.drop_index("ix_callbacks_member_id_created_at")
    op.drop_table("callbacks")
