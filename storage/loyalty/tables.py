"""Tables of receipts, the append-only points ledger and its per-member summary."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from storage.metadata import metadata
from storage.types import UtcDateTime

receipts = Table(
    "receipts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("receipt_no", String(64), nullable=False, unique=True),
    Column("store_id", Integer, ForeignKey("stores.id"), nullable=False),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("original_receipt_no", String(64), index=True),
    Column("points", Integer, nullable=False, server_default="0"),
    Index("ix_receipts_member_occurred", "member_id", "occurred_at"),
)

points_ledger = Table(
    "points_ledger",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("points", Integer, nullable=False),
    Column("source_key", String(96), nullable=False, unique=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("note", Text, nullable=False, server_default=""),
)

# Each member's ledger summed up (domain.loyalty.model.PointsBalance), written in the same
# transaction as every append so /points reads one row instead of replaying the ledger. A
# missing row means "not summed up yet": it is made from the ledger when first needed.
points_summaries = Table(
    "points_summaries",
    metadata,
    Column("member_id", Integer, ForeignKey("members.id"), primary_key=True),
    Column("balance", Integer, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("as_of", UtcDateTime),
    # [[source_key, earned_at, expires_at or null, remaining], ...] of lots holding points
    Column("lots", JSON, nullable=False),
    # [[occurred_at, kind, points, source_key], ...] newest first
    Column("recent", JSON, nullable=False),
)
