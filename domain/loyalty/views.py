"""What a member sees of their points: balance, tier, progress and what expires soon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.loyalty.model import LedgerEntry, PointsLedger

if TYPE_CHECKING:
    from domain.loyalty.policy import Tier
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork


@dataclass(frozen=True)
class PointsSummary:
    """What /points shows a member."""

    balance: int
    tier: Tier
    next_tier: Tier | None
    spend_12m: Decimal
    to_next_tier: Decimal
    expiring_soon: int
    expiring_days: int
    recent: list[LedgerEntry]


async def points_summary(
    uow: UnitOfWork, policy: Policy, member_id: int, now: datetime, recent: int = 5
) -> PointsSummary:
    """Balance, tier and what is about to expire; books expirations that are due."""
    member = await uow.members.get(member_id)
    if member is None:
        raise LookupError(f"member {member_id} does not exist")
    entries = await uow.ledger.entries_for(member_id)
    ledger = PointsLedger(member_id, entries)
    due = ledger.due_expirations(now)
    if due:
        await uow.ledger.append(due)
        ledger = PointsLedger(member_id, entries + due)
    tier = policy.tier(member.tier)
    next_tier = policy.next_tier(tier.key)
    to_next = max(Decimal(0), next_tier.threshold - member.spend_12m) if next_tier else Decimal(0)
    return PointsSummary(
        balance=ledger.balance,
        tier=tier,
        next_tier=next_tier,
        spend_12m=member.spend_12m,
        to_next_tier=to_next,
        expiring_soon=ledger.expiring_within(now, policy.points.expiring_soon_days),
        expiring_days=policy.points.expiring_soon_days,
        recent=ledger.recent(recent),
    )
