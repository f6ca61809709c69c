"""Tables of satisfaction surveys, on the shared metadata: invitations and answers."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)

from storage.loyalty.tables import receipts
from storage.metadata import metadata
from storage.types import UtcDateTime

survey_invitations = Table(
    "survey_invitations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("survey_key", String(24), nullable=False),
    Column("kind", String(8), nullable=False),  # csat or nps
    Column("trigger", String(16), nullable=False),  # receipt, ticket, segment
    Column("trigger_ref", String(64), nullable=False),  # receipt number, ticket id, label
    # The same key as the invitation's outbox row: nobody is asked twice for one reason.
    Column("dedupe_key", String(160), nullable=False, unique=True),
    Column("token", String(8), nullable=False),  # the check in the buttons' data
    Column("store_id", Integer, ForeignKey("stores.id")),
    Column("category", String(64), nullable=False, server_default=""),
    Column("chat_user_id", Integer, ForeignKey("chat_users.id")),
    Column("status", String(16), nullable=False, server_default="invited"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime),
    # The chain's local day and month when it was made: reports group by them as stored.
    Column("day", Date, nullable=False),
    Column("month", String(7), nullable=False),
    # The frequency limit asks for each member's latest invitation.
    Index("ix_survey_invitations_member_created", "member_id", "created_at"),
    # The response rate reads this index alone, in the order it groups by (no sorting).
    Index("ix_survey_invitations_report", "month", "store_id", "kind", "status", "day"),
)

survey_answers = Table(
    "survey_answers",
    metadata,
    Column("id", Integer, primary_key=True),
    # One answer per invitation, whatever two taps at once do.
    Column(
        "invitation_id", Integer, ForeignKey("survey_invitations.id"), nullable=False,
        unique=True,
    ),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("survey_key", String(24), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("score", SmallInteger, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("trigger_ref", String(64), nullable=False),
    Column("category", String(64), nullable=False, server_default=""),
    Column("store_id", Integer, ForeignKey("stores.id")),
    Column("answered_at", UtcDateTime, nullable=False),
    Column("day", Date, nullable=False),
    Column("month", String(7), nullable=False),
    Column("comment", Text),
    Column("commented_at", UtcDateTime),
    Column("recovery_ticket_id", Integer),  # the call-back ticket a detractor's answer opened
    CheckConstraint(
        "(kind = 'csat' AND score BETWEEN 1 AND 5) OR (kind = 'nps' AND score BETWEEN 0 AND 10)",
        name="score_on_scale",
    ),
    Index("ix_survey_answers_member_answered", "member_id", "answered_at"),
    # Covers the report's GROUP BY in its own order: a million answers are counted from the
    # index alone, group after group, with no sorting; the period's months bound the scan.
    Index(
        "ix_survey_answers_report", "month", "store_id", "kind", "category", "score", "day"
    ),
)

# The invitation job asks for the receipts of the last day; without an index on their time it
# would read the whole receipts table every run. Declared here, with the feature that needs it,
# so the surveys migration creates it.
Index("ix_receipts_occurred_at", receipts.c.occurred_at)
