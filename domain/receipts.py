"""Receipts from the tills: what a member spent, and refunds that take points back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Receipt:
    """One till receipt; a refund has a negative amount and names the original receipt."""

    receipt_no: str
    store_id: int
    member_id: int
    occurred_at: datetime
    amount: Decimal
    currency: str
    original_receipt_no: str | None = None
    points: int = 0
    id: int | None = None

    @property
    def is_refund(self) -> bool:
        return self.amount < 0
