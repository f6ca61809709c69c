"""Tables of the delivery pipeline: the outbox, and the record of scheduled jobs."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.metadata import metadata
from storage.types import UtcDateTime

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    # Queueing the same announcement twice (a rerun, a second scheduler) inserts nothing.
    Column("dedupe_key", String(160), nullable=False, unique=True),
    Column("member_id", Integer, ForeignKey("members.id")),
    Column("chat_user_id", Integer, ForeignKey("chat_users.id")),
    Column("chat_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # service or marketing
    Column("message_key", String(96)),  # translated when sent, in the chat's language then
    Column("params", JSON, nullable=False),
    Column("text", Text),  # or a text sent as is
    Column("photo", LargeBinary),
    Column("photo_file_id", String(255)),  # or a photo Telegram already has, by its id
    Column("buttons", JSON, nullable=False),
    Column("quiet_hours", Boolean, nullable=False, server_default="0"),
    Column("topic", String(64)),  # "ticket:42": see chat_topics
    Column("topic_title", String(128)),
    Column("language", String(8)),  # for chats with no member (the staff group)
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("sent_message_id", String(32)),  # the chat's id of the message once sent
    # The sender asks "what is due now" all the time: status first, then time.
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
    # The frequency cap counts a member's marketing sent in the last 7 days.
    Index("ix_outbox_member_sent", "member_id", "sent_at"),
    # A reply in a group quotes one of our messages: which row (and topic) was it?
    Index("ix_outbox_chat_sent_message", "chat_id", "sent_message_id"),
)

# Where the messages of one subject ("ticket:42") go in a group chat: the forum topic the
# sender opened for it, or, in a group without topics, the first message later ones reply to.
chat_topics = Table(
    "chat_topics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", String(64), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("thread_id", String(32)),
    Column("anchor_message_id", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("chat_id", "topic"),
    Index("ix_chat_topics_chat_thread", "chat_id", "thread_id"),
)
