"""The staff accounts table."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table

from storage.metadata import metadata
from storage.types import UtcDateTime

staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("telegram_user_id", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("display_name", String(120), nullable=False, server_default=""),
    Column("store_code", String(32)),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UtcDateTime, nullable=False),
)
