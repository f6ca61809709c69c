"""Repositories of the points ledger and the receipts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from domain.loyalty.model import LedgerEntry, Receipt


class LedgerRepository(Protocol):
    async def entries_for(self, member_id: int) -> list[LedgerEntry]: ...
    async def append(self, entries: Sequence[LedgerEntry]) -> int:
        """Insert the entries whose source key is new; return how many were inserted."""
        ...

    async def balance(self, member_id: int) -> int: ...


class ReceiptRepository(Protocol):
    async def get(self, receipt_no: str) -> Receipt | None: ...
    async def existing(self, receipt_nos: Iterable[str]) -> set[str]: ...
    async def add_many(self, receipts: Sequence[Receipt]) -> int: ...
    async def spend_since(
        self, member_ids: Iterable[int], since: datetime
    ) -> dict[int, Decimal]: ...
    async def refunded(self, original_receipt_no: str) -> Decimal: ...
    async def recent_for_member(self, member_id: int, count: int) -> list[Receipt]: ...
