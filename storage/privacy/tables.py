"""Tables of privacy: consent per purpose and its log, deletion requests, aliases of merged
member numbers."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table

from storage.metadata import metadata
from storage.types import UtcDateTime

# The current state of each purpose a member (or an import) decided about; a purpose without
# a row is at its default (domain.privacy.model.Purpose).
member_consents = Table(
    "member_consents",
    metadata,
    Column("member_id", Integer, ForeignKey("members.id"), primary_key=True),
    Column("purpose", String(16), primary_key=True),
    Column("granted", Boolean, nullable=False),
    Column("source", String(16), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("wording_version", String(32), nullable=False, server_default=""),
)

# Every change, appended and never edited: the proof of what a member agreed to, and when.
consent_log = Table(
    "consent_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("source", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("wording_version", String(32), nullable=False, server_default=""),
    Index("ix_consent_log_member_id_at", "member_id", "at"),
)

# "Delete my account", carried out by the daily privacy job after the cooling-off period.
erasure_requests = Table(
    "erasure_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("cancelled_at", UtcDateTime),
    Column("done_at", UtcDateTime),
    Index("ix_erasure_requests_member_id", "member_id"),
    Index("ix_erasure_requests_due_at", "due_at"),
)

# The number of a member merged into another: a card or a POS export still says it.
member_aliases = Table(
    "member_aliases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_no", String(32), nullable=False, unique=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False, index=True),
    Column("merged_at", UtcDateTime, nullable=False),
)
