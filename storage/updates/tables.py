"""The table of handled Telegram update ids (no personal data: ids and a time only)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table

from storage.metadata import metadata
from storage.types import UtcDateTime

# One row per update handled: the primary key is what makes a second claim of a redelivered
# update fail, whichever worker it reaches. The bot id keeps two bots on one database apart.
handled_updates = Table(
    "handled_updates",
    metadata,
    Column("bot_id", String(32), nullable=False),
    Column("update_id", BigInteger, nullable=False),
    Column("handled_at", UtcDateTime, nullable=False, index=True),
    PrimaryKeyConstraint("bot_id", "update_id"),
)
