"""Tables of callbacks: one row per member to call back, the log of every outcome, and the
members not to call (they asked, or their number is wrong and under review)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, SmallInteger, String, Table, Text

from storage.metadata import metadata
from storage.types import UtcDateTime

callbacks = Table(
    "callbacks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("rule", String(16), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    # One callback per trigger ("complaint:ticket:42"): an event handled twice makes one.
    Column("dedupe_key", String(120), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("context", String(120), nullable=False, server_default=""),
    Column("category", String(32), nullable=False, server_default=""),
    Column("store_id", Integer, ForeignKey("stores.id")),
    Column("checkin_until", UtcDateTime),
    Column("checkin_queued_at", UtcDateTime),
    Column("assignee_id", Integer, ForeignKey("staff.id")),
    Column("attempts", SmallInteger, nullable=False, server_default="0"),
    Column("outcome", String(16)),
    Column("reason", String(16), nullable=False, server_default=""),
    Column("closed_at", UtcDateTime),
    Column("reminded", String(8), nullable=False, server_default=""),
    # The window rule reads a member's recent callbacks; the queue reads due calls in order.
    Index("ix_callbacks_member_id_created_at", "member_id", "created_at"),
    Index("ix_callbacks_status_due_at", "status", "due_at"),
    Index("ix_callbacks_status_checkin_until", "status", "checkin_until"),
)

# Append-only but for the optional note staff add right after an outcome.
callback_log = Table(
    "callback_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("callback_id", Integer, ForeignKey("callbacks.id"), nullable=False),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),  # staff:<telegram id>, member:<id>, system
    Column("outcome", String(16), nullable=False),
    Column("reason", String(16), nullable=False, server_default=""),
    Column("note", Text, nullable=False, server_default=""),
    Column("call_again_at", UtcDateTime),
    Index("ix_callback_log_callback_id", "callback_id"),
)

callback_flags = Table(
    "callback_flags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # do_not_call, wrong_number
    Column("at", UtcDateTime, nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id")),
    Index("ix_callback_flags_member_id_kind", "member_id", "kind", unique=True),
)
