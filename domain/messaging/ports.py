"""What sending needs: the outbox repository, the messenger and its errors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # these modules use the unit of work themselves
    from domain.messaging.model import ChatTopic, OutboxMessage, OutboxStatus, Recipient

class OutboxRepository(Protocol):
    async def add(self, message: OutboxMessage) -> bool: ...
    async def add_many(self, messages: Sequence[OutboxMessage]) -> int:
        """Queue many rows in batches (a campaign wave); how many dedupe keys were new."""
        ...

    async def get(self, message_id: int) -> OutboxMessage | None: ...
    async def get_by_dedupe_key(self, dedupe_key: str) -> OutboxMessage | None: ...

    async def due(
        self, now: datetime, limit: int, *, except_chats: Sequence[str] = ()
    ) -> list[OutboxMessage]:
        """Rows due by `now`, SLA breach alerts first, then the oldest; none of `except_chats`."""
        ...
    async def due_chats(self, now: datetime, chat_ids: Sequence[str]) -> set[str]:
        """Which of `chat_ids` have rows due by `now`."""
        ...
    async def last_id(self) -> int:
        """The highest row id queued so far (0 for an empty outbox)."""
        ...
    async def waiting_after(self, after_id: int, until: datetime) -> dict[int, datetime]:
        """Waiting rows above `after_id` due by `until`: id -> when due, by id."""
        ...
    async def claim(self, message_ids: Sequence[int], now: datetime) -> set[int]:
        """Mark the still waiting rows among `message_ids` `sending`; return their ids."""
        ...
    async def record_sent(self, sent: Sequence[tuple[int, datetime, str | None]]) -> None:
        """Mark many rows sent: (id, when, the chat's id of the message)."""
        ...
    async def recipients(
        self, messages: Sequence[OutboxMessage], now: datetime
    ) -> dict[int, Recipient]:
        """Who each row goes to, keyed by row id; marketing counted over the 7 days to `now`."""
        ...
    async def mark_sending(self, message_id: int, now: datetime) -> bool: ...
    async def mark_sent(
        self, message_id: int, now: datetime, sent_message_id: str | None = None
    ) -> None:
        """Sent; `sent_message_id` is the chat's id of it, for replies that quote it."""
        ...
    async def reschedule(
        self,
        message_id: int,
        status: OutboxStatus,
        at: datetime,
        *,
        attempts: int | None = None,
        error: str = "",
    ) -> None: ...
    async def finish(
        self, message_id: int, status: OutboxStatus, error: str, now: datetime
    ) -> None: ...
    async def recover_sending(self, now: datetime) -> int: ...
    async def mark_chat_unreachable(self, chat_user_id: int) -> None: ...
    async def counts(self) -> dict[str, int]: ...
    async def topic(self, chat_id: str, topic: str) -> ChatTopic | None: ...
    async def save_topic(self, topic: ChatTopic, now: datetime) -> ChatTopic:
        """Record a topic unless one exists for its chat and key; return the one that counts."""
        ...

    async def set_topic_anchor(self, chat_id: str, topic: str, message_id: str) -> None: ...
    async def topic_of_thread(self, chat_id: str, thread_id: str) -> str | None: ...
    async def topic_of_message(self, chat_id: str, message_id: str) -> str | None:
        """The topic of the outbox row that became this message in this chat, if any."""
        ...


# -- sending --------------------------------------------------------------------------------

Buttons = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)


class SendError(Exception):
    """A message could not be delivered; subclasses say what the sender should do."""


class ChatUnreachable(SendError):
    """The person blocked the bot or the account is gone (403): stop writing to the chat."""


class RateLimited(SendError):
    """Telegram asked to slow down (429): wait `retry_after` seconds, then try again."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(detail or f"rate limited: retry after {retry_after} s")
        self.retry_after = retry_after


class TransientSendError(SendError):
    """A network error or a server fault: worth trying again later."""


class MessageRejected(SendError):
    """Telegram refused this message itself (400): sending it again cannot succeed."""


class Messenger(Protocol):
    """Sends one message to one chat; raises the SendError subclasses above, nothing else."""

    async def send_text(
        self,
        chat_id: str,
        text: str,
        photo: bytes | None = None,
        buttons: Buttons = (),
        *,
        thread_id: str | None = None,
        reply_to: str | None = None,
        photo_file_id: str | None = None,
    ) -> str | None:
        """Send; `thread_id` posts in a forum topic, `reply_to` quotes a message of the chat,
        `photo_file_id` sends a photo the messenger already has. Returns the id of the (last)
        message sent, when the messenger knows it."""
        ...

    async def create_topic(self, chat_id: str, name: str) -> str | None:
        """Open a forum topic in a group and return its thread id; None when the group has no
        topics (or the bot may not create them there)."""
        ...

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, buttons: Buttons = ()
    ) -> None:
        """Replace the text and the inline buttons (none: removed) of a message sent before;
        an edit that changes nothing is no error."""
        ...
