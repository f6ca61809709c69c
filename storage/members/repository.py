"""Repositories over one connection: they read and write, and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.members.model import ChatUser, Member, Store
from domain.messaging.model import ChatTarget
from storage.common import (
    BulkUpdate,
    RowMapping,
    _chunks,
    from_cents,
    insert_ignoring_duplicates,
    latest_reachable_chats,
    one_of,
    row_type,
    to_cents,
    update_by_id,
)
from storage.driver_statements import DriverStatement
from storage.loyalty.tables import receipts
from storage.members.tables import chat_users, members, stores

NAME_CHUNK = 5000  # member names are read in pages so a big chain never needs one huge result


class SqlStoreRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, store_id: int) -> Store | None:
        row = (await self.conn.execute(select(stores).where(stores.c.id == store_id))).first()
        return _store(row) if row else None

    async def get_by_code(self, code: str) -> Store | None:
        row = (await self.conn.execute(select(stores).where(stores.c.code == code))).first()
        return _store(row) if row else None

    async def list(self) -> list[Store]:
        rows = await self.conn.execute(select(stores).order_by(stores.c.code))
        return [_store(row) for row in rows]

    async def update(self, store: Store) -> None:
        await self.conn.execute(
            update(stores)
            .where(stores.c.id == store.id)
            .values(name=store.name, timezone=store.timezone)
        )

    async def add(self, store: Store) -> Store:
        result = await self.conn.execute(
            insert(stores).values(code=store.code, name=store.name, timezone=store.timezone)
        )
        return Store(store.code, store.name, store.timezone, id=result.inserted_primary_key[0])


def _store(row: Any) -> Store:
    return Store(code=row.code, name=row.name, timezone=row.timezone, id=row.id)


def _member_values(member: Member) -> dict[str, Any]:
    return {
        "member_no": member.member_no,
        "name": member.name,
        "phone": member.phone,
        "phone_last4": member.phone[-4:] if member.phone else None,
        "birthday": member.birthday,
        "birthday_md": member.birthday.month * 100 + member.birthday.day
        if member.birthday
        else None,
        "home_store_id": member.home_store_id,
        "acquired_store_id": member.acquired_store_id,
        "tier": member.tier,
        "spend_12m_cents": to_cents(member.spend_12m),
        "language": member.language,
        "marketing_consent": member.marketing_consent,
        "opted_out_at": member.opted_out_at,
        "joined_at": member.joined_at,
    }


def member_from_row(row: Any) -> Member:
    return Member(
        id=row.id,
        member_no=row.member_no,
        name=row.name,
        phone=row.phone,
        birthday=row.birthday,
        home_store_id=row.home_store_id,
        acquired_store_id=row.acquired_store_id,
        tier=row.tier,
        spend_12m=from_cents(row.spend_12m_cents),
        language=row.language,
        marketing_consent=bool(row.marketing_consent),
        opted_out_at=row.opted_out_at,
        joined_at=row.joined_at,
    )


class SqlMemberRepository:
    NEW_MEMBER_PREFIX = "W"  # members who join in the chat; imported numbers keep theirs

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _one(self, condition: Any) -> Member | None:
        row = (await self.conn.execute(select(members).where(condition))).first()
        return member_from_row(row) if row else None

    async def get(self, member_id: int) -> Member | None:
        return await self._one(members.c.id == member_id)

    async def get_by_phone(self, phone: str) -> Member | None:
        return await self._one(members.c.phone == phone)

    async def with_phone_ending(self, digits: str, limit: int) -> list[Member]:
        # Only ever called with digits, so LIKE's wildcards cannot come from the caller.
        if not digits.isdigit():
            return []
        # The last four digits have their own column: the phone may be encrypted
        # (storage.protection), and an equality on an index beats a LIKE on every row.
        condition = (
            members.c.phone_last4 == digits
            if len(digits) == 4
            else members.c.phone.like("%" + digits)
        )
        rows = await self.conn.execute(
            select(members).where(condition).order_by(members.c.id).limit(limit)
        )
        return [member_from_row(row) for row in rows]

    async def get_by_member_no(self, member_no: str) -> Member | None:
        return await self._one(members.c.member_no == member_no)

    async def add(self, member: Member) -> Member:
        result = await self.conn.execute(insert(members), _member_values(member))
        member.id = result.inserted_primary_key[0]
        return member

    async def add_many(self, new_members: Sequence[Member]) -> None:
        """Insert many members in batches (imports, demo data); ids are not read back."""
        for chunk in _chunks(new_members):
            await self.conn.execute(insert(members), [_member_values(m) for m in chunk])

    async def update(self, member: Member) -> None:
        if member.id is None:
            raise ValueError("cannot update a member that was never added")
        await self.conn.execute(
            update_by_id(members), {**_member_values(member), "row_id": member.id}
        )

    async def next_member_no(self) -> str:
        prefix = self.NEW_MEMBER_PREFIX
        highest = await self.conn.scalar(
            select(func.max(members.c.member_no)).where(members.c.member_no.like(f"{prefix}%"))
        )
        number = int(highest[len(prefix) :]) + 1 if highest else 1
        return f"{prefix}{number:07d}"

    async def ids_by_member_no(self, numbers: Iterable[str]) -> dict[str, int]:
        return await self._lookup(members.c.member_no, members.c.id, numbers)

    async def by_member_nos(self, numbers: Iterable[str]) -> dict[str, Member]:
        """Members with these numbers, keyed by number: an import compares a file in bulk."""
        return await self._many(members.c.member_no, numbers)

    async def by_phones(self, phones: Iterable[str]) -> dict[str, Member]:
        """Members with these E.164 phones, keyed by phone: who already owns a number."""
        return await self._many(members.c.phone, phones)

    async def _many(self, column: Any, keys: Iterable[str]) -> dict[str, Member]:
        wanted = list(set(keys))
        found: dict[str, Member] = {}
        for chunk in _chunks(wanted):
            rows = await self.conn.execute(select(members).where(column.in_(chunk)))
            for row in rows:
                found[row._mapping[column.name]] = member_from_row(row)
        return found

    async def ids_by_phone(self, phones: Iterable[str]) -> dict[str, int]:
        return await self._lookup(members.c.phone, members.c.id, phones)

    async def tiers_of(self, member_ids: Iterable[int]) -> dict[int, str]:
        return await self._lookup(members.c.id, members.c.tier, member_ids)

    async def _lookup(self, key: Any, value: Any, keys: Iterable[Any]) -> dict[Any, Any]:
        """`value` of the members whose `key` is one of `keys`, by key, in one query (the keys
        sent as one parameter: an import looks up thousands at a time)."""
        wanted = set(keys)
        if not wanted:
            return {}
        rows = await self.conn.execute(select(key, value).where(one_of(self.conn, key, wanted)))
        return {row[0]: row[1] for row in rows}

    async def set_tiers(self, tiers: dict[int, tuple[str, Decimal]]) -> None:
        # One prepared UPDATE run for many rows: a CASE over hundreds of ids had to be compiled
        # afresh for every batch of an import and was a quarter of its time. Plain tuples in
        # the driver's own executemany: an import sets a few thousand at a time.
        await BulkUpdate(self.conn, members, ("tier", "spend_12m_cents"), "id").run(
            [(tier, to_cents(spend), member_id) for member_id, (tier, spend) in tiers.items()]
        )

    async def first_phone_with_receipts(self) -> str | None:
        """The phone of the lowest member number that has a phone and a receipt (the demo's)."""
        has_receipts = exists().where(receipts.c.member_id == members.c.id)
        return await self.conn.scalar(
            select(members.c.phone)
            .where(members.c.phone.is_not(None), has_receipts)
            .order_by(members.c.member_no)
            .limit(1)
        )

    async def count(self) -> int:
        return int(await self.conn.scalar(select(func.count()).select_from(members)) or 0)

    async def born_on(
        self, birthday_mds: Sequence[int], store_ids: Sequence[int], unassigned: bool
    ) -> list[Member]:
        query = birthday_query(birthday_mds, store_ids, unassigned)
        if query is None:
            return []
        return [member_from_row(row) for row in await self.conn.execute(query)]

    async def names(self) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        after = 0
        while True:
            rows = list(
                await self.conn.execute(
                    select(members.c.id, members.c.name)
                    .where(members.c.id > after)
                    .order_by(members.c.id)
                    .limit(NAME_CHUNK)
                )
            )
            found.extend((int(row.id), str(row.name)) for row in rows)
            if len(rows) < NAME_CHUNK:
                return found
            after = int(rows[-1].id)


CHAT_USERS = RowMapping(ChatUser, chat_users, dicts=("state_data",), bools=("reachable",))
_chat_user = CHAT_USERS.entity


# Who is talking, asked for every message a person sends: built once, its values bound per call,
# run on the driver (storage.driver_statements). Its rows: the chat_users columns, then the
# members columns, each in their table's order.
_WHO_IS_TALKING = DriverStatement(
    select(chat_users, members)
    .select_from(chat_users.outerjoin(members, chat_users.c.member_id == members.c.id))
    .where(
        chat_users.c.channel == bindparam("channel"),
        chat_users.c.user_id == bindparam("user_id"),
    )
)
_CHAT_USER_WIDTH = len(chat_users.c)
_MEMBER_ID = _CHAT_USER_WIDTH + list(members.c.keys()).index("id")
# A joined row's two parts, read by name like plain rows.
_ChatUserRow = row_type(chat_users)
_MemberRow = row_type(members)


class SqlChatUserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, channel: str, user_id: str) -> ChatUser | None:
        row = (
            await self.conn.execute(
                select(chat_users).where(
                    chat_users.c.channel == channel, chat_users.c.user_id == user_id
                )
            )
        ).first()
        return _chat_user(row) if row else None

    async def get_with_member(
        self, channel: str, user_id: str
    ) -> tuple[ChatUser | None, Member | None]:
        """The chat account and its linked member in one query (who is talking)."""
        row = await _WHO_IS_TALKING.first(self.conn, {"channel": channel, "user_id": user_id})
        if row is None:
            return None, None
        chat_user = _chat_user(_ChatUserRow(*row[:_CHAT_USER_WIDTH]))
        if row[_MEMBER_ID] is None:
            return chat_user, None
        return chat_user, member_from_row(_MemberRow(*row[_CHAT_USER_WIDTH:]))

    async def save(self, chat_user: ChatUser) -> ChatUser:
        now = datetime.now(UTC)
        values = {**CHAT_USERS.values(chat_user), "updated_at": now}
        if chat_user.id is None:
            result = await self.conn.execute(insert(chat_users), {**values, "created_at": now})
            chat_user.id = result.inserted_primary_key[0]
        else:
            await self.conn.execute(update_by_id(chat_users), {**values, "row_id": chat_user.id})
        return chat_user

    async def add_or_get(self, chat_user: ChatUser) -> ChatUser:
        """The chat account of (channel, user id): `chat_user` added, or the one another worker
        added a moment ago. Never fails on the unique constraint, on SQLite or PostgreSQL."""
        now = datetime.now(UTC)
        await self.conn.execute(
            insert_ignoring_duplicates(self.conn, chat_users).values(
                **CHAT_USERS.values(chat_user), created_at=now, updated_at=now
            )
        )
        found = await self.get(chat_user.channel, chat_user.user_id)
        assert found is not None  # inserted now, or by the worker that won the race
        return found

    async def for_member(self, member_id: int) -> list[ChatUser]:
        rows = await self.conn.execute(
            select(chat_users).where(chat_users.c.member_id == member_id).order_by(chat_users.c.id)
        )
        return [_chat_user(row) for row in rows]

    async def reachable_chats(self, member_ids: Iterable[int]) -> dict[int, ChatTarget]:
        """Per member, the Telegram chat they used most recently that has not blocked us."""
        chats = await latest_reachable_chats(self.conn, member_ids)
        return {member_id: ChatTarget(*chat) for member_id, chat in chats.items()}


def birthday_query(
    birthday_mds: Sequence[int], store_ids: Sequence[int], unassigned: bool
) -> Select[Any] | None:
    """Members celebrating on one of `birthday_mds` in these stores: walks the birthday_md index
    (a day's birthdays are about 1/365 of the members), never the whole table."""
    where_store = [members.c.home_store_id.in_(list(store_ids))] if store_ids else []
    if unassigned:
        where_store.append(members.c.home_store_id.is_(None))
    if not where_store:
        return None
    return (
        select(members)
        .where(members.c.birthday_md.in_(list(birthday_mds)), or_(*where_store))
        .order_by(members.c.id)
    )
