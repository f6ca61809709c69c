"""Repositories of the outbox and of scheduled jobs' records: they never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.members.model import ChatUser
from domain.messaging.model import (
    WAITING,
    ChatTopic,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Recipient,
)
from domain.messaging.rules import CAP_WINDOW, URGENT_KEY_PREFIXES
from domain.privacy.model import Purpose
from storage.common import (
    MAX_ERROR,
    RowMapping,
    _chunks,
    insert_ignoring_duplicates,
    marketing_sent_counts,
    update_by_id,
)
from storage.members.tables import chat_users, members, stores
from storage.messaging.tables import chat_topics, outbox
from storage.privacy.tables import member_consents

OUTBOX = RowMapping(
    OutboxMessage, outbox, enums={"kind": MessageKind, "status": OutboxStatus},
    lists=("buttons",), dicts=("params",), bools=("quiet_hours",),
)
_values, _message = OUTBOX.values, OUTBOX.entity


class SqlOutboxRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, message: OutboxMessage) -> bool:
        if message.next_attempt_at is None or message.created_at is None:
            raise ValueError("queue outbox messages with domain.messaging.services.queue_message")
        result = await self.conn.execute(
            insert_ignoring_duplicates(self.conn, outbox), _values(message)
        )
        return result.rowcount == 1

    async def add_many(self, messages: Sequence[OutboxMessage]) -> int:
        """Insert in batches, skipping dedupe keys queued before; how many were new."""
        keys = [m.dedupe_key for m in messages]
        known: set[str] = set()
        for chunk in _chunks(keys):
            rows = await self.conn.execute(
                select(outbox.c.dedupe_key).where(outbox.c.dedupe_key.in_(list(chunk)))
            )
            known.update(row.dedupe_key for row in rows)
        fresh = {m.dedupe_key: m for m in messages if m.dedupe_key not in known}
        if any(m.next_attempt_at is None or m.created_at is None for m in fresh.values()):
            raise ValueError("queue outbox messages with domain.shared.outbox.queue_messages")
        statement = insert_ignoring_duplicates(self.conn, outbox)
        for chunk in _chunks([_values(m) for m in fresh.values()]):
            await self.conn.execute(statement, list(chunk))
        return len(fresh)

    async def get(self, message_id: int) -> OutboxMessage | None:
        row = (await self.conn.execute(select(outbox).where(outbox.c.id == message_id))).first()
        return _message(row) if row else None

    async def get_by_dedupe_key(self, dedupe_key: str) -> OutboxMessage | None:
        row = (
            await self.conn.execute(select(outbox).where(outbox.c.dedupe_key == dedupe_key))
        ).first()
        return _message(row) if row else None

    async def due(
        self, now: datetime, limit: int, *, except_chats: Sequence[str] = ()
    ) -> list[OutboxMessage]:
        urgent = or_(*(outbox.c.message_key.startswith(p) for p in URGENT_KEY_PREFIXES))
        query = (
            select(outbox)
            .where(
                outbox.c.status.in_([s.value for s in WAITING]),
                outbox.c.next_attempt_at <= now,
            )
            .order_by(case((urgent, 0), else_=1), outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
        )
        if except_chats:
            query = query.where(outbox.c.chat_id.not_in(list(except_chats)))
        rows = await self.conn.execute(query)
        return [_message(row) for row in rows]

    async def due_chats(self, now: datetime, chat_ids: Sequence[str]) -> set[str]:
        """Which of `chat_ids` have rows due by `now`."""
        found: set[str] = set()
        for chunk in _chunks(list(chat_ids)):
            rows = await self.conn.execute(
                select(outbox.c.chat_id)
                .where(
                    outbox.c.status.in_([s.value for s in WAITING]),
                    outbox.c.next_attempt_at <= now,
                    outbox.c.chat_id.in_(chunk),
                )
                .distinct()
            )
            found.update(str(c) for c in rows.scalars())
        return found

    async def last_id(self) -> int:
        return int(await self.conn.scalar(select(func.max(outbox.c.id))) or 0)

    async def waiting_after(self, after_id: int, until: datetime) -> dict[int, datetime]:
        rows = await self.conn.execute(
            select(outbox.c.id, outbox.c.next_attempt_at)
            .where(
                outbox.c.id > after_id,
                outbox.c.status.in_([s.value for s in WAITING]),
                outbox.c.next_attempt_at <= until,
            )
            .order_by(outbox.c.id)
        )
        return {int(row.id): row.next_attempt_at for row in rows}

    async def claim(self, message_ids: Sequence[int], now: datetime) -> set[int]:
        """Mark the rows `sending` (those still waiting); return the ids that were."""
        claimed: set[int] = set()
        for chunk in _chunks(list(message_ids)):
            result = await self.conn.execute(
                update(outbox)
                .where(
                    outbox.c.id.in_(chunk), outbox.c.status.in_([s.value for s in WAITING])
                )
                .values(status=OutboxStatus.SENDING.value)
                .returning(outbox.c.id)
            )
            claimed.update(int(i) for i in result.scalars())
        return claimed

    async def record_sent(self, sent: Sequence[tuple[int, datetime, str | None]]) -> None:
        """Many rows sent at once: (id, when, the chat's id of the message)."""
        if not sent:
            return
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == bindparam("row_id"))
            .values(
                status=OutboxStatus.SENT.value,
                sent_at=bindparam("at"),
                attempts=outbox.c.attempts + 1,
                sent_message_id=bindparam("message_id"),
            ),
            [{"row_id": i, "at": at, "message_id": m} for i, at, m in sent],
        )

    async def recipients(
        self, messages: Sequence[OutboxMessage], now: datetime
    ) -> dict[int, Recipient]:
        chat_ids = {m.chat_user_id for m in messages if m.chat_user_id is not None}
        member_ids = {m.member_id for m in messages if m.member_id is not None}
        chats: dict[int, ChatUser] = {}
        for chunk in _chunks(list(chat_ids)):
            rows = await self.conn.execute(select(chat_users).where(chat_users.c.id.in_(chunk)))
            for row in rows:
                chats[row.id] = ChatUser(
                    id=row.id,
                    channel=row.channel,
                    user_id=row.user_id,
                    chat_id=row.chat_id,
                    telegram_language=row.telegram_language,
                    language=row.language,
                    member_id=row.member_id,
                    reachable=bool(row.reachable),
                )
        people: dict[int, Any] = {}
        for chunk in _chunks(list(member_ids)):
            rows = await self.conn.execute(
                select(
                    members.c.id,
                    members.c.language,
                    members.c.marketing_consent,
                    members.c.opted_out_at,
                    stores.c.timezone,
                )
                .select_from(members.outerjoin(stores, members.c.home_store_id == stores.c.id))
                .where(members.c.id.in_(chunk))
            )
            people.update({row.id: row for row in rows})
        refused = await _refused_purposes(self.conn, list(member_ids))
        marketing = {m.member_id for m in messages if m.kind is MessageKind.MARKETING}
        sent = await marketing_sent_counts(
            self.conn, [i for i in marketing if i is not None], now - CAP_WINDOW
        )
        found: dict[int, Recipient] = {}
        for message in messages:
            assert message.id is not None
            chat = chats.get(message.chat_user_id) if message.chat_user_id else None
            person = people.get(message.member_id) if message.member_id else None
            language = (
                chat.effective_language()
                if chat
                else message.language or (person.language if person else None)
            )
            found[message.id] = Recipient(
                chat_id=chat.chat_id if chat else message.chat_id,
                language=language or "en",
                reachable=chat.reachable if chat else True,
                marketing_consent=bool(person.marketing_consent) if person else False,
                opted_out=bool(person and person.opted_out_at is not None),
                timezone=person.timezone if person else None,
                marketing_sent_7d=sent.get(message.member_id or -1, 0),
                refused=refused.get(message.member_id or -1, frozenset()),
            )
        return found

    async def mark_sending(self, message_id: int, now: datetime) -> bool:
        result = await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == message_id, outbox.c.status.in_([s.value for s in WAITING]))
            .values(status=OutboxStatus.SENDING.value)
        )
        return result.rowcount == 1

    async def mark_sent(
        self, message_id: int, now: datetime, sent_message_id: str | None = None
    ) -> None:
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == message_id)
            .values(
                status=OutboxStatus.SENT.value,
                sent_at=now,
                attempts=outbox.c.attempts + 1,
                sent_message_id=sent_message_id,
            )
        )

    async def reschedule(
        self,
        message_id: int,
        status: OutboxStatus,
        at: datetime,
        *,
        attempts: int | None = None,
        error: str = "",
    ) -> None:
        values: dict[str, Any] = {
            "status": status.value,
            "next_attempt_at": at,
            "last_error": error[:MAX_ERROR],
        }
        if attempts is not None:
            values["attempts"] = attempts
        await self.conn.execute(update_by_id(outbox), {**values, "row_id": message_id})

    async def finish(
        self, message_id: int, status: OutboxStatus, error: str, now: datetime
    ) -> None:
        await self.conn.execute(
            update_by_id(outbox),
            {"status": status.value, "last_error": error[:MAX_ERROR], "row_id": message_id},
        )

    async def recover_sending(self, now: datetime) -> int:
        result = await self.conn.execute(
            update(outbox)
            .where(outbox.c.status == OutboxStatus.SENDING.value)
            .values(
                status=OutboxStatus.UNKNOWN.value,
                last_error="the sender stopped during the call: maybe delivered, not resent",
            )
        )
        return int(result.rowcount or 0)

    async def mark_chat_unreachable(self, chat_user_id: int) -> None:
        await self.conn.execute(
            update_by_id(chat_users), {"reachable": False, "row_id": chat_user_id}
        )

    async def counts(self) -> dict[str, int]:
        rows = await self.conn.execute(
            select(outbox.c.status, func.count().label("n")).group_by(outbox.c.status)
        )
        return {row.status: int(row.n) for row in rows}

    # -- topics in group chats ----------------------------------------------------------------

    async def topic(self, chat_id: str, topic: str) -> ChatTopic | None:
        row = (
            await self.conn.execute(
                select(chat_topics).where(
                    chat_topics.c.chat_id == chat_id, chat_topics.c.topic == topic
                )
            )
        ).first()
        if row is None:
            return None
        return ChatTopic(row.chat_id, row.topic, row.thread_id, row.anchor_message_id)

    async def save_topic(self, topic: ChatTopic, now: datetime) -> ChatTopic:
        await self.conn.execute(
            insert_ignoring_duplicates(self.conn, chat_topics).values(
                chat_id=topic.chat_id,
                topic=topic.topic,
                thread_id=topic.thread_id,
                anchor_message_id=topic.anchor_message_id,
                created_at=now,
            )
        )
        return await self.topic(topic.chat_id, topic.topic) or topic

    async def set_topic_anchor(self, chat_id: str, topic: str, message_id: str) -> None:
        await self.conn.execute(
            update(chat_topics)
            .where(
                chat_topics.c.chat_id == chat_id,
                chat_topics.c.topic == topic,
                chat_topics.c.anchor_message_id.is_(None),
            )
            .values(anchor_message_id=message_id)
        )

    async def topic_of_thread(self, chat_id: str, thread_id: str) -> str | None:
        found = await self.conn.scalar(
            select(chat_topics.c.topic).where(
                chat_topics.c.chat_id == chat_id, chat_topics.c.thread_id == thread_id
            )
        )
        return str(found) if found is not None else None

    async def topic_of_message(self, chat_id: str, message_id: str) -> str | None:
        found = await self.conn.scalar(
            select(outbox.c.topic)
            .where(outbox.c.chat_id == chat_id, outbox.c.sent_message_id == message_id)
            .limit(1)
        )
        return str(found) if found is not None else None


async def _refused_purposes(
    conn: AsyncConnection, member_ids: Sequence[int]
) -> dict[int, frozenset[Purpose]]:
    """The purposes each of these members said no to in /privacy (one query per chunk, so one
    per claimed batch). Marketing is the member row's, read with the member."""
    found: dict[int, set[Purpose]] = {}
    known = {p.value for p in Purpose}
    for chunk in _chunks(sorted(member_ids)):
        rows = await conn.execute(
            select(member_consents.c.member_id, member_consents.c.purpose).where(
                member_consents.c.member_id.in_(chunk), member_consents.c.granted.is_(False)
            )
        )
        for member_id, purpose in rows:
            if purpose in known:
                found.setdefault(int(member_id), set()).add(Purpose(purpose))
    return {member_id: frozenset(purposes) for member_id, purposes in found.items()}
