"""What a member sees of their points: balance, tier, progress and what expires soon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.loyalty.model import LedgerEntry, PointsBalance

if TYPE_CHECKING:
    from domain.loyalty.policy import Tier
    from domain.members.model import Member
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
    uow: UnitOfWork,
    policy: Policy,
    member_id: int,
    now: datetime,
    recent: int = 5,
    *,
    member: Member | None = None,
) -> PointsSummary:
    """Balance, tier and what is about to expire; books expirations that are due.

    Reads the maintained summary (one row) rather than replaying the ledger; `member`, when the
    caller has just read it (the conversation has), spares reading it again."""
    if member is None or member.id != member_id:
        member = await uow.members.get(member_id)
    if member is None:
        raise LookupError(f"member {member_id} does not exist")
    balance = await uow.ledger.summary(member_id)
    due = balance.due_expirations(now)
    if due:
        await uow.ledger.append(due)  # the summary is kept up to date by the append
        balance = await uow.ledger.summary(member_id)
    return _summary_of(balance, member, policy, now, recent)


def summary_if_nothing_due(
    balance: PointsBalance, member: Member, policy: Policy, now: datetime, recent: int = 5
) -> PointsSummary | None:
    """What /points shows of a balance read already (the conversation reads it with who is
    talking), or None when an expiry is due: that must be booked first (points_summary)."""
    if balance.due_expirations(now):
        return None
    return _summary_of(balance, member, policy, now, recent)


def _summary_of(
    balance: PointsBalance, member: Member, policy: Policy, now: datetime, recent: int
) -> PointsSummary:
    tier = policy.tier(member.tier)
    next_tier = policy.next_tier(tier.key)
    to_next = max(Decimal(0), next_tier.threshold - member.spend_12m) if next_tier else Decimal(0)
    return PointsSummary(
        balance=balance.balance,
        tier=tier,
        next_tier=next_tier,
        spend_12m=member.spend_12m,
        to_next_tier=to_next,
        expiring_soon=balance.expiring_within(now, policy.points.expiring_soon_days),
        expiring_days=policy.points.expiring_soon_days,
        recent=balance.recent[:recent],
    )
