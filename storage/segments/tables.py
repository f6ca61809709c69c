"""Tables of segments: purchase statistics per member, each member's scores as of the last
refresh, and per refresh the model fitted, the segment sizes and the moves between segments."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
)

from storage.metadata import metadata
from storage.types import UtcDateTime

# Kept current as receipts are booked, so a refresh never rescans every receipt.
member_stats = Table(
    "member_stats",
    metadata,
    Column("member_id", Integer, ForeignKey("members.id"), primary_key=True),
    Column("first_purchase_at", UtcDateTime),
    Column("last_purchase_at", UtcDateTime),
    Column("purchases", Integer, nullable=False, server_default="0"),
    Column("spend_cents", BigInteger, nullable=False, server_default="0"),
    Column("window_purchases", Integer, nullable=False, server_default="0"),
    Column("window_spend_cents", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime, nullable=False),
)

member_segments = Table(
    "member_segments",
    metadata,
    Column("member_id", Integer, ForeignKey("members.id"), primary_key=True),
    Column("recency_days", Integer),
    Column("frequency", Integer, nullable=False, server_default="0"),
    Column("monetary_cents", BigInteger, nullable=False, server_default="0"),
    Column("r", SmallInteger),
    Column("f", SmallInteger),
    Column("m", SmallInteger),
    Column("segment", String(32), index=True),
    Column("lifecycle", String(16), nullable=False, index=True),
    Column("p_alive", Float),
    Column("expected_purchases_90d", Float),
    Column("churn_flag", Boolean, nullable=False, server_default="0"),
    Column("high_value", Boolean, nullable=False, server_default="0"),
    Column("refreshed_at", UtcDateTime, nullable=False),
    # The nightly refresh rewrites every row: half-filled pages let a row whose segment and
    # lifecycle stay the same be updated in place, touching no index (migration 0012).
    postgresql_with={"fillfactor": 50},
)

# One row per refresh: when, which window, which model (the fitted BG/NBD parameters, or why
# the lifecycle rules stood in for it).
segment_refreshes = Table(
    "segment_refreshes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("refreshed_at", UtcDateTime, nullable=False, index=True),
    # Receipts from this moment on count in member_stats' window figures.
    Column("window_start", UtcDateTime, nullable=False),
    Column("method", String(16), nullable=False),
    Column("members", Integer, nullable=False),
    Column("scored", Integer, nullable=False),
    Column("model", String(16), nullable=False),  # bgnbd or fallback
    Column("bg_r", Float),
    Column("bg_alpha", Float),
    Column("bg_a", Float),
    Column("bg_b", Float),
    Column("log_likelihood", Float),
    Column("note", String(200), nullable=False, server_default=""),
)

# Sizes per segment and per lifecycle stage after each refresh: "change since the last refresh".
segment_sizes = Table(
    "segment_sizes",
    metadata,
    Column("refresh_id", Integer, ForeignKey("segment_refreshes.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),  # segment or lifecycle
    Column("key", String(32), primary_key=True),  # "" is "in no segment"
    Column("members", Integer, nullable=False),
    Column("monetary_cents", BigInteger, nullable=False),
    Column("p_alive_sum", Float, nullable=False),
    Column("p_alive_members", Integer, nullable=False),
)

# How many members moved from one segment (or stage) to another in each refresh: the weekly
# digest adds them up. Counts only: no member is named here.
segment_moves = Table(
    "segment_moves",
    metadata,
    Column("refresh_id", Integer, ForeignKey("segment_refreshes.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("old", String(32), primary_key=True),  # "" is "in no segment" / "not scored yet"
    Column("new", String(32), primary_key=True),
    Column("members", Integer, nullable=False),
)

