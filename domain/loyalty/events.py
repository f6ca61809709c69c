"""What loyalty tells other features: receipts were booked (segments keep their statistics
current from it, in the same transaction)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.loyalty.model import Receipt
from domain.shared.events import Event


@dataclass(frozen=True)
class ReceiptsBooked(Event):
    """Sales and refunds newly booked in one transaction (duplicates and rejected refunds are
    not in it); one event per booking call, so a chunk of an import is one event."""

    receipts: tuple[Receipt, ...]
