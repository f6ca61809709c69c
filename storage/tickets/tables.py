"""Tables of complaint tickets, their threads and the audit log, on the shared metadata."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)

from storage.metadata import metadata
from storage.types import UtcDateTime

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False, index=True),
    Column("category", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("priority", String(8), nullable=False, server_default="normal"),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("store_id", Integer, ForeignKey("stores.id")),
    Column("assignee_id", Integer, ForeignKey("staff.id")),
    Column("tags", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("first_response_due", UtcDateTime, nullable=False),
    Column("resolution_due", UtcDateTime, nullable=False),
    Column("first_responded_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("close_reason", String(16), nullable=False, server_default=""),
    Column("waiting_since", UtcDateTime),
    Column("escalated_at", UtcDateTime),
    Column("member_reminded_at", UtcDateTime),
    Column("followed_up_at", UtcDateTime),
    Column("sla_notified", String(32), nullable=False, server_default=""),
    Column("satisfaction", SmallInteger),
    Column("rated_at", UtcDateTime),
    # Derived on every save, so the two hot questions walk an index instead of the table:
    # the due time of the SLA clock that runs now (NULL once resolved): /queue sorts by it;
    # the next moment the follow-up job has something to do for the ticket (NULL: nothing).
    Column("sla_due_at", UtcDateTime),
    Column("next_check_at", UtcDateTime),
    CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"),
    # With the assignee in it, /queue's counts (active, past due, unassigned) read the index
    # alone.
    Index("ix_tickets_sla_due_at", "sla_due_at", "assignee_id"),
    Index("ix_tickets_next_check_at", "next_check_at"),
)

ticket_messages = Table(
    "ticket_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("author", String(8), nullable=False),  # member, staff, system
    Column("author_id", Integer),  # member id or staff id
    Column("text", Text, nullable=False),
    Column("photo_file_id", String(255)),  # Telegram's id: the photo is relayed, not stored
    Column("internal", Boolean, nullable=False, server_default="0"),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_ticket_messages_ticket_id_id", "ticket_id", "id"),
)

# Append-only: who did what to which ticket or member, and when. Nothing updates or deletes it.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("actor", String(64), nullable=False),  # staff:<telegram id>, member:<id>, system
    Column("action", String(48), nullable=False),  # ticket.reply, member.view...
    Column("at", UtcDateTime, nullable=False),
    Column("ticket_id", Integer, ForeignKey("tickets.id")),
    Column("member_id", Integer, ForeignKey("members.id")),
    Column("detail", Text, nullable=False, server_default=""),
    Index("ix_audit_log_ticket_id", "ticket_id"),
    Index("ix_audit_log_actor_at", "actor", "at"),
    Index("ix_audit_log_at", "at"),
)
