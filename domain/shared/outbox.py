"""Queueing a proactive message in the caller's transaction: the one way every feature speaks
to members and staff (the sender in scheduler/ delivers it under domain.messaging.rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.messaging.model import OutboxMessage
    from domain.shared.ports import UnitOfWork


async def queue_messages(
    uow: UnitOfWork, messages: Sequence[OutboxMessage], now: datetime
) -> int:
    """Queue many messages in the caller's transaction, in batches (a campaign wave of 100,000
    rows is not 100,000 statements); how many were new."""
    for message in messages:
        message.created_at = message.created_at or now
        message.next_attempt_at = message.next_attempt_at or now
    return await uow.outbox.add_many(messages)


async def queue_message(uow: UnitOfWork, message: OutboxMessage, now: datetime) -> bool:
    """Queue `message` in the caller's transaction; False when its dedupe key was queued before."""
    message.created_at = message.created_at or now
    message.next_attempt_at = message.next_attempt_at or now
    return await uow.outbox.add(message)
