"""privacy: consent per purpose, erasure requests, member aliases, keyed hashes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

Reserved in the history so the features built in parallel keep one line of migrations; the
feature fills in upgrade() and downgrade().
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _utc(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, storage.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # Encryption at rest (storage.protection): the columns hold ciphertext once a key is set,
    # a birthday becomes text, and the phone's last four digits get their own column.
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.alter_column(
            "name", existing_type=sa.String(length=120), type_=sa.String(length=400),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "phone", existing_type=sa.String(length=20), type_=sa.String(length=64),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "birthday", existing_type=sa.Date(), type_=sa.String(length=80),
            existing_nullable=True, postgresql_using="birthday::text",
        )
        batch_op.add_column(sa.Column("phone_last4", sa.String(length=4), nullable=True))
        batch_op.create_index(op.f("ix_members_phone_last4"), ["phone_last4"], unique=False)
    op.execute(
        "UPDATE members SET phone_last4 = substr(phone, length(phone) - 3) "
        "WHERE phone IS NOT NULL"
    )
    op.create_table(
        "member_consents",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        _utc("changed_at"),
        sa.Column("wording_version", sa.String(length=32), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_consents_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", "purpose", name=op.f("pk_member_consents")),
    )
    op.create_table(
        "consent_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        _utc("at"),
        sa.Column("wording_version", sa.String(length=32), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_consent_log_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_log")),
    )
    op.create_index("ix_consent_log_member_id_at", "consent_log", ["member_id", "at"])
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        _utc("requested_at"),
        _utc("due_at"),
        _utc("cancelled_at", nullable=True),
        _utc("done_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_erasure_requests_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    op.create_index("ix_erasure_requests_member_id", "erasure_requests", ["member_id"])
    op.create_index("ix_erasure_requests_due_at", "erasure_requests", ["due_at"])
    op.create_table(
        "member_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_no", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        _utc("merged_at"),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_aliases_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_aliases")),
        sa.UniqueConstraint("member_no", name=op.f("uq_member_aliases_member_no")),
    )
    op.create_index(
        op.f("ix_member_aliases_member_id"), "member_aliases", ["member_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_member_aliases_member_id"), table_name="member_aliases")
    op.drop_table("member_aliases")
    op.drop_index("ix_erasure_requests_due_at", table_name="erasure_requests")
    op.drop_index("ix_erasure_requests_member_id", table_name="erasure_requests")
    op.drop_table("erasure_requests")
    op.drop_index("ix_consent_log_member_id_at", table_name="consent_log")
    op.drop_table("consent_log")
    op.drop_table("member_consents")
    # Only a database in the clear goes back: run `retailbot keys rotate --decrypt` first.
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_members_phone_last4"))
        batch_op.drop_column("phone_last4")
        batch_op.alter_column(
            "birthday", existing_type=sa.String(length=80), type_=sa.Date(),
            existing_nullable=True, postgresql_using="birthday::date",
        )
        batch_op.alter_column(
            "phone", existing_type=sa.String(length=64), type_=sa.String(length=20),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "name", existing_type=sa.String(length=400), type_=sa.String(length=120),
            existing_nullable=False,
        )
