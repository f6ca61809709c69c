"""campaigns: audiences, messages, schedules, control groups, deliveries, referrals

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Reserved in the history so the features built in parallel keep one line of migrations; the
feature fills in upgrade() and downgrade().
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, storage.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        _at("created_at", nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        _at("started_at"),
        sa.Column("started_by", sa.String(length=64), server_default="", nullable=False),
        _at("last_wave_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_status", "campaigns", ["status"], unique=False)
    op.create_table(
        "campaign_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("wave", sa.String(length=24), nullable=False),
        sa.Column("cohort", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=120), server_default="", nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        _at("assigned_at", nullable=False),
        sa.Column("dedupe_key", sa.String(length=160), nullable=True),
        sa.Column("coupon_id", sa.Integer(), nullable=True),
        _at("not_interested_at"),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_recipients_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_campaign_recipients_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_campaign_recipients_coupon_id_coupons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipients")),
        sa.UniqueConstraint(
            "campaign_id",
            "member_id",
            "wave",
            name=op.f("uq_campaign_recipients_campaign_id_member_id_wave"),
        ),
    )
    op.create_index(
        "ix_campaign_recipients_member_day", "campaign_recipients", ["member_id", "local_day"]
    )
    op.create_index(
        "ix_campaign_recipients_campaign_cohort", "campaign_recipients", ["campaign_id", "cohort"]
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referrer_member_id", sa.Integer(), nullable=False),
        sa.Column("chat_user_id", sa.Integer(), nullable=True),
        sa.Column("referred_member_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="clicked", nullable=False),
        sa.Column("reason", sa.String(length=120), server_default="", nullable=False),
        _at("clicked_at", nullable=False),
        _at("attributed_at"),
        _at("rewarded_at"),
        sa.ForeignKeyConstraint(
            ["referrer_member_id"],
            ["members.id"],
            name=op.f("fk_referrals_referrer_member_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["chat_user_id"], ["chat_users.id"], name=op.f("fk_referrals_chat_user_id_chat_users")
        ),
        sa.ForeignKeyConstraint(
            ["referred_member_id"],
            ["members.id"],
            name=op.f("fk_referrals_referred_member_id_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("chat_user_id", name=op.f("uq_referrals_chat_user_id")),
        sa.UniqueConstraint("referred_member_id", name=op.f("uq_referrals_referred_member_id")),
    )
    op.create_index(
        "ix_referrals_referrer_rewarded", "referrals", ["referrer_member_id", "rewarded_at"]
    )
    op.create_index("ix_referrals_status", "referrals", ["status"])


def downgrade() -> None:
    op.drop_index("ix_referrals_status", table_name="referrals")
    op.drop_index("ix_referrals_referrer_rewarded", table_name="referrals")
    op.drop_table("referrals")
    op.drop_index("ix_campaign_recipients_campaign_cohort", table_name="campaign_recipients")
    op.drop_index("ix_campaign_recipients_member_day", table_name="campaign_recipients")
    op.drop_table("campaign_recipients")
    op.drop_index("ix_campaigns_status", table_name="campaigns")
    op.drop_table("campaigns")
