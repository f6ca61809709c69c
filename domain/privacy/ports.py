"""Repositories of privacy: consents and their log, deletion requests, member aliases,
retention. Other features read consents through `ConsentRepository.allowed`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from domain.privacy.model import Consent, ConsentChange, ErasureRequest, MemberFacts, Purpose


class ConsentRepository(Protocol):
    """Consent per purpose. `allowed` is the read port every feature uses before it acts:

        allowed = await uow.consents.allowed(member_ids, Purpose.PROFILING)

    Marketing is read from the member row (members.marketing_consent, which /stop, /profile
    and the import keep); the other purposes are allowed unless the member said no.
    """

    async def allowed(self, member_ids: Iterable[int], purpose: Purpose) -> set[int]:
        """Those of `member_ids` whose data may be used for `purpose`."""
        ...

    async def refused(self, purpose: Purpose) -> set[int]:
        """Every member who said no to `purpose` (usually few: the cheap way to leave them out
        of a whole-chain computation such as the nightly segments refresh)."""
        ...

    async def recorded(self, member_id: int) -> dict[Purpose, Consent]:
        """The purposes the member (or an import) decided about; the others are default."""
        ...

    async def save(self, member_id: int, consent: Consent) -> None:
        """Set one purpose's state and append the change to the consent log."""
        ...

    async def save_many(self, changes: Sequence[tuple[int, bool]], consent: Consent) -> None:
        """`consent` (its purpose, source, time, wording) given or withdrawn for many members
        at once, as (member id, granted): an import's file in a few statements."""
        ...

    async def log(self, member_id: int) -> list[ConsentChange]: ...


class PrivacyRepository(Protocol):
    """Deletion requests, aliases of merged member numbers, retention and duplicate facts."""

    async def add_erasure(self, request: ErasureRequest) -> ErasureRequest: ...
    async def pending_erasure(self, member_id: int) -> ErasureRequest | None: ...
    async def cancel_erasure(self, request_id: int, at: datetime) -> bool: ...
    async def due_erasures(
        self, now: datetime, limit: int | None = None
    ) -> list[ErasureRequest]:
        """Pending erasures due by `now`, the oldest due first (then by id); at most `limit`
        (None: all)."""
        ...
    async def finish_erasure(self, request_id: int, at: datetime) -> None: ...

    async def add_alias(self, member_no: str, member_id: int, at: datetime) -> None: ...
    async def alias_target(self, member_no: str) -> int | None:
        """The member a merged-away number now means, or None."""
        ...

    async def alias_targets(self, member_nos: Iterable[str]) -> dict[str, int]:
        """Of these numbers, those merged away, each with the member it now means."""
        ...

    async def member_facts(self) -> list[MemberFacts]:
        """Every member's name, phone, birthday and store, for the duplicate search."""
        ...

    async def delete_member_row(self, member_id: int) -> None:
        """Remove a merged-away member's own row, once every feature moved its rows."""
        ...

    async def purge_ticket_texts(self, before: datetime) -> int: ...
    async def purge_survey_comments(self, before: datetime) -> int: ...
    async def purge_chat_states(self, before: datetime) -> int: ...
    async def purge_outbox_texts(self, before: datetime) -> int: ...
