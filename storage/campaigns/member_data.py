"""The campaigns feature's part of a member's footprint: their place in campaign waves, and
referrals they made or came through."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.shared.member_data import Export
from storage.campaigns.tables import campaign_recipients, referrals
from storage.common import json_rows, member_rows, move_member_rows
from storage.members.tables import chat_users


class SqlCampaignsData:
    """Campaign recipients and referrals of the member.

    Neither holds personal data or free text: a recipient row is a campaign, a wave, a group
    and a reason; a referral names two members and when. Erase therefore keeps them (the
    campaign's report and its control group stay what they were) and only lets go of the chat
    accounts a referral points at, which the members feature deletes right after. The rendered
    messages themselves are outbox rows, scrubbed by the messaging feature.

    Reassign moves recipients to the kept member; where both members were in the same wave of
    a campaign the kept member's row stays and the other is removed (one place per wave).
    Referrals made move to the kept member; a referral that brought the merged member stays
    with the kept member unless one already brought the kept member, then it is refused as
    "merged into another member".
    """

    name = "campaigns"
    tables: Mapping[str, tuple[str, ...]] = MappingProxyType(
        {
            "campaign_recipients": ("member_id",),
            "referrals": ("referrer_member_id", "referred_member_id"),
        }
    )

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def export(self, member_id: int) -> Export:
        referred = (
            select(referrals)
            .where(
                or_(
                    referrals.c.referrer_member_id == member_id,
                    referrals.c.referred_member_id == member_id,
                )
            )
            .order_by(referrals.c.id)
        )
        return {
            "campaign_recipients": await member_rows(self.conn, campaign_recipients, member_id),
            "referrals": await json_rows(self.conn, referred),
        }

    async def erase(self, member_id: int) -> int:
        their_chats = select(chat_users.c.id).where(chat_users.c.member_id == member_id)
        result = await self.conn.execute(
            update(referrals)
            .where(referrals.c.chat_user_id.in_(their_chats))
            .values(chat_user_id=None)
        )
        return int(result.rowcount or 0)

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        kept = campaign_recipients.alias("kept")
        clash = exists().where(
            kept.c.member_id == to_member_id,
            kept.c.campaign_id == campaign_recipients.c.campaign_id,
            kept.c.wave == campaign_recipients.c.wave,
        )
        removed = await self.conn.execute(
            delete(campaign_recipients).where(
                campaign_recipients.c.member_id == from_member_id, clash
            )
        )
        moved = await move_member_rows(
            self.conn, (campaign_recipients,), from_member_id, to_member_id
        )
        made = await self.conn.execute(
            update(referrals)
            .where(referrals.c.referrer_member_id == from_member_id)
            .values(referrer_member_id=to_member_id)
        )
        already = await self.conn.scalar(
            select(referrals.c.id).where(referrals.c.referred_member_id == to_member_id)
        )
        brought = await self.conn.execute(
            update(referrals)
            .where(and_(referrals.c.referred_member_id == from_member_id))
            .values(
                referred_member_id=None if already else to_member_id,
                **(
                    {"status": "refused", "reason": "merged into another member"}
                    if already
                    else {}
                ),
            )
        )
        return int(
            (removed.rowcount or 0) + moved + (made.rowcount or 0) + (brought.rowcount or 0)
        )
