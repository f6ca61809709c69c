"""Tables of campaigns: the campaigns, each member's place in each wave, and referrals."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from storage.metadata import metadata
from storage.types import UtcDateTime

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(80), nullable=False),
    Column("status", String(16), nullable=False, server_default="draft"),
    Column("kind", String(16), nullable=False),  # once, recurring, triggered
    Column("priority", Integer, nullable=False, server_default="0"),
    # The campaign file as parsed (domain.campaigns.rules.spec_to_mapping): audience, message,
    # coupon, schedule. A started campaign's spec is never edited: the report stays true to it.
    Column("spec", JSON, nullable=False),
    Column("photo", LargeBinary),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False, server_default=""),
    Column("started_at", UtcDateTime),
    Column("started_by", String(64), nullable=False, server_default=""),
    Column("last_wave_at", UtcDateTime),
    Index("ix_campaigns_status", "status"),
)

# One row per member and wave: queued (treated), held back (control, hold-out) or skipped with
# the reason. The report counts these; the outbox row (by dedupe key) says what the sender did.
campaign_recipients = Table(
    "campaign_recipients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("wave", String(24), nullable=False),
    Column("cohort", String(16), nullable=False),  # treated, control, holdout, skipped
    Column("reason", String(120), nullable=False, server_default=""),
    Column("local_day", Date, nullable=False),  # the member's day of the send: one offer a day
    Column("assigned_at", UtcDateTime, nullable=False),  # attribution counts from here
    Column("dedupe_key", String(160)),
    Column("coupon_id", Integer, ForeignKey("coupons.id")),
    Column("not_interested_at", UtcDateTime),
    UniqueConstraint("campaign_id", "member_id", "wave"),
    # "Is another campaign already reaching this member that day?" and re-entry look-ups.
    Index("ix_campaign_recipients_member_day", "member_id", "local_day"),
    Index("ix_campaign_recipients_campaign_cohort", "campaign_id", "cohort"),
)

# A share link opened (`/start ref_<member_no>`), then the member it brought, then the reward.
referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("referrer_member_id", Integer, ForeignKey("members.id"), nullable=False),
    # The chat account that opened the link: the first link a chat opens is the one that counts.
    Column("chat_user_id", Integer, ForeignKey("chat_users.id"), unique=True),
    Column("referred_member_id", Integer, ForeignKey("members.id"), unique=True),
    Column("status", String(16), nullable=False, server_default="clicked"),
    Column("reason", String(120), nullable=False, server_default=""),
    Column("clicked_at", UtcDateTime, nullable=False),
    Column("attributed_at", UtcDateTime),
    Column("rewarded_at", UtcDateTime),
    Index("ix_referrals_referrer_rewarded", "referrer_member_id", "rewarded_at"),
    Index("ix_referrals_status", "status"),
)
