"""What privacy tells other features."""

from __future__ import annotations

from dataclasses import dataclass

from domain.privacy.model import Purpose
from domain.shared.events import Event


@dataclass(frozen=True)
class MembersMerged(Event):
    """Every row of `dropped_id` now belongs to `kept_id`; loyalty recomputes the kept
    member's tier from the receipts they now hold."""

    kept_id: int
    dropped_id: int


@dataclass(frozen=True)
class ConsentWithdrawn(Event):
    """A member said no to `purpose`; features using the data for it stop at once."""

    member_id: int
    purpose: Purpose


@dataclass(frozen=True)
class MemberErased(Event):
    """A member's personal data was erased (at their request or by an admin)."""

    member_id: int
