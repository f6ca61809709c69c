"""The outbox's values: one message to one chat, its state, who it goes to."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.privacy.model import Purpose


class MessageKind(enum.StrEnum):
    SERVICE = "service"
    MARKETING = "marketing"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next_attempt_at
    DEFERRED = "deferred"  # held for quiet hours until next_attempt_at
    SENDING = "sending"  # handed to the messenger; committed before the call
    SENT = "sent"
    FAILED = "failed"  # the chat cannot be reached (blocked, deleted)
    DEAD = "dead"  # gave up after retries, or the message itself was refused
    UNKNOWN = "unknown"  # was `sending` when the sender died: maybe delivered, never resent
    SKIPPED = "skipped"  # not sent by rule: no consent, opted out, frequency cap


WAITING = (OutboxStatus.PENDING, OutboxStatus.DEFERRED)

# A row whose params name another row's dedupe key under this key edits the message that row
# became instead of sending a new one: the text is the other row's text followed by this row's
# (a status line), the buttons this row's (none: a closed ticket's card loses its buttons).
EDIT_OF_PARAM = "_edit_of"


@dataclass
class OutboxMessage:
    """One message to one chat: a message key translated when sent, or text as is."""

    dedupe_key: str
    chat_id: str
    kind: MessageKind
    member_id: int | None = None
    chat_user_id: int | None = None
    message_key: str | None = None
    # Values for the message's placeholders; a {"en": ..., "zh": ...} value is picked by the
    # chat's language when the message is sent.
    params: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    photo: bytes | None = None
    photo_file_id: str | None = None  # a photo the messenger already has (relayed by its id)
    # Rows of inline buttons: {"key": message key, "data": callback data} or {"text": ...}.
    buttons: list[list[dict[str, str]]] = field(default_factory=list)
    quiet_hours: bool = False
    # Messages of one subject in a group chat ("ticket:42") share a topic: a forum topic made
    # on first use and titled `topic_title`, or, in a group without topics, replies to the
    # subject's first message. See ChatTopic.
    topic: str | None = None
    topic_title: str | None = None
    language: str | None = None  # for chats with no member or chat account (the staff group)
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    created_at: datetime | None = None
    sent_at: datetime | None = None
    sent_message_id: str | None = None  # the chat's id of the message, once sent
    id: int | None = None

    def __post_init__(self) -> None:
        if (self.message_key is None) == (self.text is None):
            raise ValueError("an outbox message has either a message key or a text, not both")
        if self.kind is MessageKind.MARKETING:
            self.quiet_hours = True  # marketing never goes out at night


@dataclass(frozen=True)
class ChatTarget:
    """The chat a member is reached in."""

    chat_user_id: int
    chat_id: str


@dataclass(frozen=True)
class ChatTopic:
    """Where the messages of one subject go in a group chat.

    In a forum group the sender opens a topic the first time a subject's message goes out
    (`thread_id`); in a plain group `thread_id` stays None and later messages reply to the
    subject's first one (`anchor_message_id`). Either way a message someone writes in the
    topic, or in reply to one of the subject's messages, leads back to the subject.
    """

    chat_id: str
    topic: str
    thread_id: str | None
    anchor_message_id: str | None


# -- the rules the sender applies -----------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """What the sender knows about the chat and member of a row, read just before sending."""

    chat_id: str
    language: str
    reachable: bool = True
    marketing_consent: bool = False
    opted_out: bool = False
    timezone: str | None = None  # the member's store's zone; None: the chain's
    marketing_sent_7d: int = 0
    refused: frozenset[Purpose] = frozenset()  # the purposes the member said no to (/privacy)


class Action(enum.StrEnum):
    SEND = "send"
    DEFER = "defer"
    SKIP = "skip"
    FAIL = "fail"


@dataclass(frozen=True)
class Decision:
    action: Action
    until: datetime | None = None  # for DEFER
    reason: str = ""
