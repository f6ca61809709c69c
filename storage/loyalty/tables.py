"""Tables of receipts and the append-only points ledger."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

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
