"""Repositories of the points ledger and the receipts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from domain.loyalty.model import LedgerEntry, PointsBalance, Receipt


class LedgerRepository(Protocol):
    async def entries_for(self, member_id: int) -> list[LedgerEntry]: ...
    async def entries_for_many(self, member_ids: Iterable[int]) -> dict[int, list[LedgerEntry]]:
        """Every entry of these members, by member (in time order); members with none too."""
        ...
    async def append(self, entries: Sequence[LedgerEntry]) -> int:
        """Insert the entries whose source key is new; return how many were inserted."""
        ...

    async def balance(self, member_id: int) -> int: ...
    async def summary(self, member_id: int) -> PointsBalance:
        """The maintained summary of the member's ledger (made from the ledger when missing)."""
        ...


class ReceiptRepository(Protocol):
    async def get(self, receipt_no: str) -> Receipt | None: ...
    async def get_many(self, receipt_nos: Iterable[str]) -> dict[str, Receipt]: ...
    async def existing(self, receipt_nos: Iterable[str]) -> set[str]: ...
    async def add_many(self, receipts: Sequence[Receipt]) -> int: ...
    async def spend_since(
        self, member_ids: Iterable[int], since: datetime
    ) -> dict[int, Decimal]:
        """Each member's receipts from `since` on, summed (refunds subtract: it can be
        negative); members without any are left out."""
        ...
    async def refunded(self, original_receipt_no: str) -> Decimal: ...
    async def refunded_many(self, original_receipt_nos: Iterable[str]) -> dict[str, Decimal]:
        """What was refunded of each receipt so far (negative or zero), by receipt number."""
        ...
    async def recent_for_member(self, member_id: int, count: int) -> list[Receipt]: ...
