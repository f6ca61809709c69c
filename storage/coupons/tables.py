"""Tables of coupons and staff accounts, on the shared metadata: one migration history for all."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from storage.metadata import metadata
from storage.types import UtcDateTime

coupons = Table(
    "coupons",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("code", String(16), nullable=False, unique=True),
    # Where it came from: birthday:2027, exchange:<reward>:<nonce>, campaign:12.
    Column("source", String(96), nullable=False),
    Column("template_key", String(48), nullable=False),
    # The terms are copied from the template at issue: editing the policy never changes them.
    Column("kind", String(16), nullable=False),
    Column("value_cents", BigInteger, nullable=False),  # amount in cents, or percent * 100
    Column("min_spend_cents", BigInteger, nullable=False, server_default="0"),
    Column("stores", JSON, nullable=False),  # store codes that accept it; [] means all
    Column("name_en", String(120), nullable=False),
    Column("name_zh", String(120), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("redeemed_at", UtcDateTime),
    Column("redeemed_store", String(32)),
    Column("redeemed_by", String(120)),
    Column("reminded_at", UtcDateTime),
    # At most one coupon per member and source, whatever the application gets wrong.
    UniqueConstraint("member_id", "source"),
    # The daily expiry job and the reminder query walk this index, never the whole table.
    Index("ix_coupons_status_expires", "status", "expires_at"),
)
