"""The database schema as SQLAlchemy Core tables; Alembic migrations are the history of it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

from storage.metadata import metadata
from storage.protection import ProtectedDate, ProtectedLookup, ProtectedText
from storage.types import UtcDateTime

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
    # Name, phone and birthday are encrypted when a data key is installed (storage.protection);
    # the widths hold the ciphertext of the longest value.
    Column("name", ProtectedText(400), nullable=False),
    Column("phone", ProtectedLookup(64), unique=True),
    # The last four digits stay in the clear: the staff's search by them needs no decryption.
    Column("phone_last4", String(4), index=True),
    Column("birthday", ProtectedDate(80)),
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
