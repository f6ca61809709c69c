"""The callbacks repository: callbacks, their log, the members not to call, and what the rules
and the report read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from domain.callbacks.model import (
        Callback,
        CallMember,
        Candidate,
        FlagKind,
        LogEntry,
        ReportRow,
        Rule,
    )


class CallbackRepository(Protocol):
    async def add(self, callback: Callback) -> Callback | None:
        """Insert it; None when a callback with its dedupe key exists already."""
        ...

    async def get(self, callback_id: int, *, lock: bool = False) -> Callback | None: ...
    async def save(self, callback: Callback) -> None: ...
    async def recent_for_member(self, member_id: int, since: datetime) -> list[Callback]:
        """The member's callbacks made since `since`, the newest first."""
        ...

    async def last_of_rule(self, member_id: int, rule: Rule) -> datetime | None:
        """When the member's last callback of `rule` was made."""
        ...

    async def recent_for_members(
        self, member_ids: Iterable[int], since: datetime
    ) -> dict[int, list[Callback]]:
        """`recent_for_member` for many members at once (a member with none is left out)."""
        ...

    async def flagged(self, member_ids: Iterable[int]) -> set[int]:
        """Which of these members have any flag (wrong number, do not call)."""
        ...

    async def gone_quiet_facts(
        self, member_ids: Iterable[int], rule: Rule
    ) -> dict[int, tuple[str, int | None, datetime | None]]:
        """Per member that exists: tier, home store and when their last callback of `rule`
        was made (None: never), for a refresh's slice in one query."""
        ...

    async def add_log(self, entry: LogEntry) -> LogEntry: ...
    async def set_note(self, log_id: int, note: str) -> bool: ...
    async def log_for_member(self, member_id: int, limit: int) -> list[LogEntry]:
        """The member's last log rows, the newest first."""
        ...

    async def call_queue(self, staff_id: int | None, due_by: datetime, limit: int) -> list[
        Callback
    ]:
        """Calls due by `due_by`, unassigned or held by `staff_id`, the most overdue first."""
        ...

    async def due_checkins(self, now: datetime, limit: int) -> list[int]:
        """Ids of check-ins due by `now` not yet given to the outbox."""
        ...

    async def unanswered_checkins(self, now: datetime, limit: int) -> list[int]: ...
    async def overdue_calls(self, before: datetime, limit: int) -> list[int]:
        """Ids of queued calls due before `before` with a reminder still to send."""
        ...

    async def flags(self, member_id: int) -> set[FlagKind]: ...
    async def add_flag(self, member_id: int, kind: FlagKind, at: datetime,
                       staff_id: int | None) -> None: ...
    async def new_members(self, first_from: datetime, first_to: datetime) -> list[Candidate]:
        """Members whose first purchase was in [first_from, first_to) (due_at: that purchase),
        with no new-member callback yet."""
        ...

    async def top_tier_members(self, tier: str, none_since: datetime) -> list[Candidate]:
        """Members of `tier` with no VIP callback made since `none_since` (due_at unused)."""
        ...

    async def call_list(self, store_id: int | None, due_by: datetime) -> list[Callback]:
        """Queued calls due by `due_by` of one store (None: every store), oldest due first."""
        ...

    async def call_members(self, member_ids: Iterable[int]) -> dict[int, CallMember]:
        """The members that exist among these, by id, read in bulk (not one query each)."""
        ...

    async def report_rows(
        self, start: datetime, end: datetime, store_id: int | None
    ) -> list[ReportRow]: ...
    async def purchases_after(
        self, member_ids: Iterable[int], start: datetime, end: datetime
    ) -> dict[int, list[tuple[datetime, Decimal]]]:
        """Each member's receipts in [start, end): (when, amount)."""
        ...
