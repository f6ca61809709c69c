"""The database schema as SQLAlchemy Core tables; Alembic migrations are the history of it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.types import UtcDateTime

# Constraint names are fixed so migrations can refer to them on every database.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

stores = Table(
    "stores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("timezone", String(64), nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_no", String(32), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("phone", String(20), unique=True),
    Column("birthday", Date),
    # month * 100 + day, indexed so today's birthdays are found without a scan
    Column("birthday_md", SmallInteger, index=True),
    Column("home_store_id", Integer, ForeignKey("stores.id")),
    Column("acquired_store_id", Integer, ForeignKey("stores.id")),
    Column("tier", String(32), nullable=False, server_default="member"),
    Column("spend_12m_cents", BigInteger, nullable=False, server_default="0"),
    Column("language", String(8)),
    Column("marketing_consent", Boolean, nullable=False, server_default="0"),
    Column("opted_out_at", UtcDateTime),
    Column("joined_at", UtcDateTime, nullable=False),
)

chat_users = Table(
    "chat_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("telegram_language", String(16)),
    Column("language", String(8)),
    Column("member_id", Integer, ForeignKey("members.id"), index=True),
    Column("state", String(64), nullable=False, server_default=""),
    Column("state_data", JSON, nullable=False),
    Column("source_store_code", String(32)),
    Column("reachable", Boolean, nullable=False, server_default="1"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("channel", "user_id"),
)

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
