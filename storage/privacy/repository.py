"""Repositories of privacy over one connection: they read and write, and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    String,
    and_,
    bindparam,
    cast,
    delete,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.privacy.model import (
    Consent,
    ConsentChange,
    ConsentSource,
    ErasureRequest,
    MemberFacts,
    Purpose,
)
from domain.shared.member_data import ERASED_TEXT
from storage.common import RowMapping, _chunks
from storage.members.tables import chat_users, members
from storage.messaging.tables import outbox
from storage.privacy.tables import consent_log, erasure_requests, member_aliases, member_consents
from storage.protection import current_key_id, written_under
from storage.surveys.tables import survey_answers
from storage.tickets.tables import ticket_messages, tickets

FACTS_PAGE = 5000  # the duplicate search reads members a page at a time
# Outbox rows still to be delivered keep their texts whatever their age.
FINISHED = ("sent", "failed", "dead", "unknown", "skipped")

_CONSENT_ENUMS = {"purpose": Purpose, "source": ConsentSource}
_consent = RowMapping(Consent, member_consents, enums=_CONSENT_ENUMS, bools=("granted",)).entity
_change = RowMapping(ConsentChange, consent_log, enums=_CONSENT_ENUMS, bools=("granted",)).entity
_request = RowMapping(ErasureRequest, erasure_requests).entity
# A request neither cancelled nor carried out (ErasureRequest.pending).
_PENDING = and_(erasure_requests.c.cancelled_at.is_(None), erasure_requests.c.done_at.is_(None))


class SqlConsentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def allowed(self, member_ids: Iterable[int], purpose: Purpose) -> set[int]:
        wanted = sorted(set(member_ids))
        found: set[int] = set()
        for chunk in _chunks(wanted):
            if purpose is Purpose.MARKETING:
                rows = await self.conn.scalars(
                    select(members.c.id).where(
                        members.c.id.in_(chunk), members.c.marketing_consent.is_(True)
                    )
                )
                found.update(rows)
                continue
            refused = set(
                await self.conn.scalars(
                    select(member_consents.c.member_id).where(
                        member_consents.c.member_id.in_(chunk),
                        member_consents.c.purpose == purpose.value,
                        member_consents.c.granted.is_(False),
                    )
                )
            )
            found.update(member_id for member_id in chunk if member_id not in refused)
        return found

    async def refused(self, purpose: Purpose) -> set[int]:
        if purpose is Purpose.MARKETING:
            query = select(members.c.id).where(members.c.marketing_consent.is_(False))
        else:
            query = select(member_consents.c.member_id).where(
                member_consents.c.purpose == purpose.value, member_consents.c.granted.is_(False)
            )
        return set(await self.conn.scalars(query))

    async def recorded(self, member_id: int) -> dict[Purpose, Consent]:
        rows = await self.conn.execute(
            select(member_consents).where(member_consents.c.member_id == member_id)
        )
        return {consent.purpose: consent for consent in map(_consent, rows)}

    async def save(self, member_id: int, consent: Consent) -> None:
        at = consent.changed_at
        if at is None:
            raise ValueError("a consent change needs its time")
        values = {
            "granted": consent.granted,
            "source": consent.source.value,
            "changed_at": at,
            "wording_version": consent.wording_version,
        }
        changed = await self.conn.execute(
            update(member_consents)
            .where(
                member_consents.c.member_id == member_id,
                member_consents.c.purpose == consent.purpose.value,
            )
            .values(**values)
        )
        if changed.rowcount == 0:
            await self.conn.execute(
                insert(member_consents).values(
                    member_id=member_id, purpose=consent.purpose.value, **values
                )
            )
        await self.conn.execute(
            insert(consent_log).values(
                member_id=member_id,
                purpose=consent.purpose.value,
                granted=consent.granted,
                source=consent.source.value,
                at=at,
                wording_version=consent.wording_version,
            )
        )

    async def save_many(self, changes: Sequence[tuple[int, bool]], consent: Consent) -> None:
        at = consent.changed_at
        if at is None:
            raise ValueError("a consent change needs its time")
        for chunk in _chunks(list(changes)):
            ids = [member_id for member_id, _ in chunk]
            await self.conn.execute(
                delete(member_consents).where(
                    member_consents.c.member_id.in_(ids),
                    member_consents.c.purpose == consent.purpose.value,
                )
            )
            rows = [
                {"member_id": member_id, "purpose": consent.purpose.value, "granted": granted,
                 "source": consent.source.value, "wording_version": consent.wording_version}
                for member_id, granted in chunk
            ]
            await self.conn.execute(
                insert(member_consents), [{**row, "changed_at": at} for row in rows]
            )
            await self.conn.execute(insert(consent_log), [{**row, "at": at} for row in rows])

    async def log(self, member_id: int) -> list[ConsentChange]:
        rows = await self.conn.execute(
            select(consent_log)
            .where(consent_log.c.member_id == member_id)
            .order_by(consent_log.c.at, consent_log.c.id)
        )
        return [_change(row) for row in rows]


class SqlPrivacyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # -- deletion requests ----------------------------------------------------------------------

    async def add_erasure(self, request: ErasureRequest) -> ErasureRequest:
        result = await self.conn.execute(
            insert(erasure_requests).values(
                member_id=request.member_id,
                requested_at=request.requested_at,
                due_at=request.due_at,
            )
        )
        return ErasureRequest(
            request.member_id, request.requested_at, request.due_at,
            id=result.inserted_primary_key[0],
        )

    async def pending_erasure(self, member_id: int) -> ErasureRequest | None:
        row = (
            await self.conn.execute(
                select(erasure_requests)
                .where(erasure_requests.c.member_id == member_id, _PENDING)
                .order_by(erasure_requests.c.id)
                .limit(1)
            )
        ).first()
        return _request(row) if row else None

    async def cancel_erasure(self, request_id: int, at: datetime) -> bool:
        result = await self.conn.execute(
            update(erasure_requests)
            .where(erasure_requests.c.id == request_id, _PENDING)
            .values(cancelled_at=at)
        )
        return bool(result.rowcount)

    async def due_erasures(
        self, now: datetime, limit: int | None = None
    ) -> list[ErasureRequest]:
        query = (
            select(erasure_requests)
            .where(erasure_requests.c.due_at <= now, _PENDING)
            .order_by(erasure_requests.c.due_at, erasure_requests.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return [_request(row) for row in await self.conn.execute(query)]

    async def finish_erasure(self, request_id: int, at: datetime) -> None:
        await self.conn.execute(
            update(erasure_requests).where(erasure_requests.c.id == request_id).values(done_at=at)
        )

    # -- merges ---------------------------------------------------------------------------------

    async def add_alias(self, member_no: str, member_id: int, at: datetime) -> None:
        # Aliases of the dropped member already point here (reassign moved them).
        await self.conn.execute(
            insert(member_aliases).values(member_no=member_no, member_id=member_id, merged_at=at)
        )

    async def alias_target(self, member_no: str) -> int | None:
        found = await self.conn.scalar(
            select(member_aliases.c.member_id).where(member_aliases.c.member_no == member_no)
        )
        return int(found) if found is not None else None

    async def alias_targets(self, member_nos: Iterable[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(set(member_nos))):
            rows = await self.conn.execute(
                select(member_aliases.c.member_no, member_aliases.c.member_id).where(
                    member_aliases.c.member_no.in_(chunk)
                )
            )
            found.update({row.member_no: int(row.member_id) for row in rows})
        return found

    async def delete_member_row(self, member_id: int) -> None:
        await self.conn.execute(delete(members).where(members.c.id == member_id))

    async def member_facts(self) -> list[MemberFacts]:
        found: list[MemberFacts] = []
        after = 0
        columns = (
            members.c.id, members.c.member_no, members.c.name, members.c.phone,
            members.c.birthday, members.c.birthday_md, members.c.home_store_id,
        )
        while True:
            rows = list(
                await self.conn.execute(
                    select(*columns)
                    .where(members.c.id > after, members.c.phone.is_not(None)
                           | members.c.birthday_md.is_not(None))
                    .order_by(members.c.id)
                    .limit(FACTS_PAGE)
                )
            )
            found.extend(
                MemberFacts(
                    id=row.id,
                    member_no=row.member_no,
                    name=row.name,
                    phone=row.phone,
                    birthday_md=row.birthday_md,
                    birth_year=row.birthday.year if row.birthday else None,
                    home_store_id=row.home_store_id,
                )
                for row in rows
            )
            if len(rows) < FACTS_PAGE:
                return found
            after = int(rows[-1].id)

    # -- encryption at rest --------------------------------------------------------------------

    async def reencrypt_members(self, after_id: int, limit: int) -> tuple[int, int | None]:
        """Rewrite, under the installed key (or in the clear when none is), the names, phones
        and birthdays of the next `limit` members after `after_id` that are not written so;
        (rows rewritten, the last id looked at, None when there are no more)."""
        raw = (
            type_coerce(members.c.name, String).label("raw_name"),
            type_coerce(members.c.phone, String).label("raw_phone"),
            type_coerce(members.c.birthday, String).label("raw_birthday"),
        )
        rows = list(
            await self.conn.execute(
                select(members.c.id, *raw)
                .where(members.c.id > after_id)
                .order_by(members.c.id)
                .limit(limit)
            )
        )
        if not rows:
            return 0, None
        wanted = current_key_id()
        stale = [
            row.id for row in rows
            if any(
                value is not None and written_under(value) != wanted
                for value in (row.raw_name, row.raw_phone, row.raw_birthday)
            )
        ]
        rewrite = (  # one statement per chunk, run over its rows (not a statement per row)
            update(members)
            .where(members.c.id == bindparam("row_id"))
            .values(
                name=bindparam("new_name", type_=members.c.name.type),
                phone=bindparam("new_phone", type_=members.c.phone.type),
                birthday=bindparam("new_birthday", type_=members.c.birthday.type),
            )
        )
        for chunk in _chunks(stale):
            found = await self.conn.execute(
                select(members.c.id, members.c.name, members.c.phone, members.c.birthday)
                .where(members.c.id.in_(chunk))
            )
            values = [
                {"row_id": row.id, "new_name": row.name, "new_phone": row.phone,
                 "new_birthday": row.birthday}
                for row in found
            ]
            if values:
                await self.conn.execute(rewrite, values)
        return len(stale), int(rows[-1].id)

    # -- retention ------------------------------------------------------------------------------

    async def purge_ticket_texts(self, before: datetime) -> int:
        """Thread texts and photos older than `before`, and the descriptions of tickets closed
        before it; the rows stay (the desk's counts and times)."""
        messages = await self.conn.execute(
            update(ticket_messages)
            .where(
                ticket_messages.c.at < before,
                (ticket_messages.c.text != ERASED_TEXT)
                | ticket_messages.c.photo_file_id.is_not(None),
            )
            .values(text=ERASED_TEXT, photo_file_id=None)
        )
        described = await self.conn.execute(
            update(tickets)
            .where(
                tickets.c.closed_at.is_not(None),
                tickets.c.closed_at < before,
                tickets.c.description != ERASED_TEXT,
            )
            .values(description=ERASED_TEXT)
        )
        return messages.rowcount + described.rowcount

    async def purge_survey_comments(self, before: datetime) -> int:
        result = await self.conn.execute(
            update(survey_answers)
            .where(
                survey_answers.c.commented_at < before,
                survey_answers.c.comment.is_not(None),
                survey_answers.c.comment != ERASED_TEXT,
            )
            .values(comment=ERASED_TEXT)
        )
        return result.rowcount

    async def purge_chat_states(self, before: datetime) -> int:
        result = await self.conn.execute(
            update(chat_users)
            .where(chat_users.c.updated_at < before, chat_users.c.state != "")
            .values(state="", state_data={})
        )
        return result.rowcount

    async def purge_outbox_texts(self, before: datetime) -> int:
        """Texts, parameters and photos of messages delivered (or given up) before `before`;
        the row stays for the frequency cap and the delivery figures."""
        result = await self.conn.execute(
            update(outbox)
            .where(
                outbox.c.created_at < before,
                outbox.c.status.in_(FINISHED),
                or_(
                    outbox.c.text.is_not(None),
                    outbox.c.photo.is_not(None),
                    cast(outbox.c.params, String) != "{}",
                ),
            )
            .values(text=None, photo=None, params={})
        )
        return result.rowcount
