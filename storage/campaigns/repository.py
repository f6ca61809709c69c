"""The campaign repository: campaigns, their audience query, recipients, report figures and
referrals. It reads and writes, and never commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.campaigns.model import (
    Audience,
    AudienceMember,
    Campaign,
    CampaignStatus,
    Group,
    GroupOutcome,
    RecipientRow,
    Referral,
    ReferralStatus,
    Trigger,
)
from domain.campaigns.rules import Rival, spec_from_stored, spec_to_mapping
from domain.messaging.model import OutboxStatus
from storage.campaigns.tables import campaign_recipients, campaigns, referrals
from storage.common import (
    RowMapping,
    _chunks,
    from_cents,
    insert_ignoring_duplicates,
    latest_reachable_chats,
    marketing_sent_counts,
)
from storage.coupons.tables import coupons
from storage.loyalty.tables import points_ledger, receipts
from storage.members.tables import chat_users, members, stores
from storage.messaging.tables import outbox
from storage.segments.tables import member_segments, member_stats

# A rival's outbox row may still be withdrawn while the sender has not taken it.
_WAITING = [OutboxStatus.PENDING.value, OutboxStatus.DEFERRED.value]
# ...and one that has gone (or may have) keeps the day: the member has had today's offer.
_GONE = (OutboxStatus.SENDING.value, OutboxStatus.SENT.value, OutboxStatus.UNKNOWN.value)

_referral = RowMapping(Referral, referrals, enums={"status": ReferralStatus}).entity


def _campaign(row: Any) -> Campaign:
    return Campaign(
        id=row.id,
        spec=spec_from_stored(row.spec, row.photo),
        status=CampaignStatus(row.status),
        created_at=row.created_at,
        created_by=row.created_by,
        started_at=row.started_at,
        started_by=row.started_by,
        last_wave_at=row.last_wave_at,
    )


class SqlCampaignRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # -- campaigns ---------------------------------------------------------------------------

    async def add(self, campaign: Campaign) -> Campaign:
        new_id = await self.conn.scalar(
            campaigns.insert()
            .values(
                name=campaign.spec.name,
                status=campaign.status.value,
                kind=campaign.spec.schedule.kind.value,
                priority=campaign.spec.priority,
                spec=spec_to_mapping(campaign.spec),
                photo=campaign.spec.message.photo,
                created_at=campaign.created_at,
                created_by=campaign.created_by[:64],
            )
            .returning(campaigns.c.id)
        )
        campaign.id = int(new_id) if new_id is not None else None
        return campaign

    async def get(self, campaign_id: int) -> Campaign | None:
        row = await self.conn.execute(select(campaigns).where(campaigns.c.id == campaign_id))
        found = row.first()
        return _campaign(found) if found else None

    async def find(self, statuses: Sequence[CampaignStatus] = ()) -> list[Campaign]:
        query = select(campaigns).order_by(campaigns.c.id)
        if statuses:
            query = query.where(campaigns.c.status.in_([s.value for s in statuses]))
        return [_campaign(row) for row in await self.conn.execute(query)]

    async def update(self, campaign: Campaign) -> None:
        await self.conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign.id)
            .values(
                status=campaign.status.value,
                started_at=campaign.started_at,
                started_by=campaign.started_by[:64],
                last_wave_at=campaign.last_wave_at,
            )
        )

    async def claim_wave(self, campaign_id: int, previous: datetime | None, now: datetime) -> bool:
        """Move last_wave_at from `previous` to `now` unless another scheduler did first."""
        condition = (
            campaigns.c.last_wave_at.is_(None)
            if previous is None
            else campaigns.c.last_wave_at == previous
        )
        result = await self.conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id, condition)
            .values(last_wave_at=now)
        )
        return result.rowcount == 1

    # -- the audience ------------------------------------------------------------------------

    async def audience(
        self,
        audience: Audience,
        now: datetime,
        *,
        chain_timezone: str,
        birthday_month: int | None = None,
        trigger: Trigger | None = None,
        trigger_days: int = 0,
        member_ids: Sequence[int] | None = None,
        with_points: bool = False,
    ) -> list[AudienceMember]:
        """Members matching every filter (one query), with their store, points when asked, and
        their most recent reachable Telegram chat. Marketing counts are left at 0 (see
        marketing_counts): the start of a campaign does not need them, the preview does."""
        balance = (
            select(func.coalesce(func.sum(points_ledger.c.points), 0))
            .where(points_ledger.c.member_id == members.c.id)
            .scalar_subquery()
        )
        need_points = with_points or audience.points != (None, None)
        columns = [
            members.c.id,
            members.c.name,
            members.c.tier,
            members.c.language,
            members.c.marketing_consent,
            members.c.opted_out_at,
            stores.c.code.label("store_code"),
            stores.c.name.label("store_name"),
            stores.c.timezone,
        ]
        if need_points:
            columns.append(balance.label("points"))
        source = members.outerjoin(stores, stores.c.id == members.c.home_store_id)
        whole = member_ids is None
        query = select(*columns).select_from(source)
        where: list[Any] = []
        if audience.segments or audience.lifecycle or audience.p_alive != (None, None):
            query = query.join(member_segments, member_segments.c.member_id == members.c.id)
        if audience.segments:
            where.append(member_segments.c.segment.in_(list(audience.segments)))
        if audience.lifecycle:
            where.append(member_segments.c.lifecycle.in_(list(audience.lifecycle)))
        low, high = audience.p_alive
        if low is not None:
            where.append(member_segments.c.p_alive >= low)
        if high is not None:
            where.append(member_segments.c.p_alive <= high)
        if audience.tiers:
            where.append(members.c.tier.in_(list(audience.tiers)))
        if audience.stores:
            where.append(stores.c.code.in_(list(audience.stores)))
        if birthday_month:
            where.append(
                members.c.birthday_md.between(birthday_month * 100, birthday_month * 100 + 31)
            )
        least, most = audience.days_since_purchase
        if least is not None or most is not None or trigger is Trigger.DAYS_AFTER_FIRST_PURCHASE:
            query = query.join(member_stats, member_stats.c.member_id == members.c.id)
        if least is not None:
            where.append(member_stats.c.last_purchase_at <= now - timedelta(days=least))
        if most is not None:
            where.append(member_stats.c.last_purchase_at > now - timedelta(days=most + 1))
        if trigger is Trigger.DAYS_AFTER_FIRST_PURCHASE:
            # A week of catch-up, so a wave missed while the scheduler was down still goes.
            due = now - timedelta(days=trigger_days)
            where.append(member_stats.c.first_purchase_at <= due)
            where.append(member_stats.c.first_purchase_at > due - timedelta(days=7))
        if trigger is Trigger.POINTS_EXPIRING:
            expiring = (
                select(points_ledger.c.id)
                .where(
                    points_ledger.c.member_id == members.c.id,
                    points_ledger.c.points > 0,
                    points_ledger.c.expires_at > now,
                    points_ledger.c.expires_at <= now + timedelta(days=trigger_days),
                )
                .exists()
            )
            where.append(expiring)
            where.append(balance > 0)
        p_low, p_high = audience.points
        if p_low is not None:
            where.append(balance >= p_low)
        if p_high is not None:
            where.append(balance <= p_high)
        if audience.consent_only:
            where.append(members.c.marketing_consent.is_(True))
        results: list[AudienceMember] = []
        id_chunks: Iterable[Sequence[int] | None] = (
            _chunks(list(member_ids)) if member_ids is not None else [None]
        )
        for chunk in id_chunks:
            scoped = query.where(*where)
            if chunk is not None:
                scoped = scoped.where(members.c.id.in_(list(chunk)))
            rows = await self.conn.execute(scoped.order_by(members.c.id))
            for row in rows:
                results.append(
                    AudienceMember(
                        member_id=row.id,
                        name=row.name,
                        tier=row.tier,
                        language=row.language,
                        marketing_consent=bool(row.marketing_consent),
                        opted_out=row.opted_out_at is not None,
                        chat_user_id=None,
                        chat_id=None,
                        store_code=row.store_code,
                        store_name=row.store_name,
                        timezone=row.timezone or chain_timezone,
                        points=int(row.points) if need_points else 0,
                    )
                )
        return await self._with_chats(results, every=whole)

    async def _with_chats(
        self, found: list[AudienceMember], *, every: bool = False
    ) -> list[AudienceMember]:
        """Each member's most recent reachable Telegram chat: for a whole audience every such
        chat read in one pass, for a few members theirs by id."""
        ids = [m.member_id for m in found if m.marketing_consent and not m.opted_out]
        chats = await latest_reachable_chats(self.conn, None if every else ids)
        out = []
        for m in found:
            chat = chats.get(m.member_id)
            if chat is not None:
                m = AudienceMember(**{**m.__dict__, "chat_user_id": chat[0], "chat_id": chat[1]})
            out.append(m)
        return out

    async def marketing_counts(self, member_ids: Sequence[int], since: datetime) -> dict[int, int]:
        """Marketing messages sent to each member since `since` (the frequency cap's count)."""
        return await marketing_sent_counts(self.conn, member_ids, since)

    # -- recipients --------------------------------------------------------------------------

    async def last_received(
        self, campaign_id: int, member_ids: Sequence[int]
    ) -> dict[int, datetime]:
        """When each member was last assigned to the campaign (treated, control or hold-out)."""
        found: dict[int, datetime] = {}
        for chunk in _chunks(list(member_ids)):
            rows = await self.conn.execute(
                select(
                    campaign_recipients.c.member_id, func.max(campaign_recipients.c.assigned_at)
                )
                .where(
                    campaign_recipients.c.campaign_id == campaign_id,
                    campaign_recipients.c.member_id.in_(list(chunk)),
                    campaign_recipients.c.cohort != "skipped",
                )
                .group_by(campaign_recipients.c.member_id)
            )
            found.update({int(r[0]): r[1] for r in rows if r[1] is not None})
        return found

    async def rivals(
        self, campaign_id: int, days: dict[int, date]
    ) -> dict[int, list[tuple[Rival, int, str | None]]]:
        """Other campaigns queued for these members on their day: (rival, recipient id, key)."""
        found: dict[int, list[tuple[Rival, int, str | None]]] = {}
        wanted = set(days.values())
        for chunk in _chunks(list(days)):
            rows = await self.conn.execute(
                select(
                    campaign_recipients.c.id,
                    campaign_recipients.c.member_id,
                    campaign_recipients.c.local_day,
                    campaign_recipients.c.campaign_id,
                    campaign_recipients.c.dedupe_key,
                    campaigns.c.priority,
                    outbox.c.status,
                )
                .join(campaigns, campaigns.c.id == campaign_recipients.c.campaign_id)
                .outerjoin(outbox, outbox.c.dedupe_key == campaign_recipients.c.dedupe_key)
                .where(
                    campaign_recipients.c.member_id.in_(list(chunk)),
                    campaign_recipients.c.local_day.in_(list(wanted)),
                    campaign_recipients.c.cohort == "treated",
                    campaign_recipients.c.campaign_id != campaign_id,
                )
            )
            for row in rows:
                if days.get(row.member_id) == row.local_day:
                    found.setdefault(row.member_id, []).append(
                        (
                            Rival(
                                row.campaign_id,
                                row.priority,
                                sent=row.status in _GONE,
                            ),
                            row.id,
                            row.dedupe_key,
                        )
                    )
        return found

    async def supersede(
        self, recipient_ids: Sequence[int], keys: Sequence[str], reason: str
    ) -> None:
        """A higher-priority campaign took the day: the rival's row is skipped, and its message
        withdrawn if the sender has not taken it yet."""
        for chunk in _chunks(list(recipient_ids)):
            await self.conn.execute(
                update(campaign_recipients)
                .where(campaign_recipients.c.id.in_(list(chunk)))
                .values(cohort="skipped", reason=reason[:120])
            )
        for chunk in _chunks(list(keys)):
            await self.conn.execute(
                update(outbox)
                .where(outbox.c.dedupe_key.in_(list(chunk)), outbox.c.status.in_(_WAITING))
                .values(status=OutboxStatus.SKIPPED.value, last_error=reason[:500])
            )

    async def withdraw_waiting(self, campaign_id: int, reason: str) -> int:
        keys = (
            select(campaign_recipients.c.dedupe_key)
            .where(
                campaign_recipients.c.campaign_id == campaign_id,
                campaign_recipients.c.dedupe_key.is_not(None),
            )
            .scalar_subquery()
        )
        result = await self.conn.execute(
            update(outbox)
            .where(outbox.c.dedupe_key.in_(keys), outbox.c.status.in_(_WAITING))
            .values(status=OutboxStatus.SKIPPED.value, last_error=reason[:500])
        )
        return int(result.rowcount or 0)

    async def add_recipients(self, rows: Sequence[RecipientRow]) -> int:
        """Insert, skipping any (campaign, member, wave) already there; how many were new."""
        if not rows:
            return 0
        values = [
            {
                "campaign_id": r.campaign_id,
                "member_id": r.member_id,
                "wave": r.wave,
                "cohort": r.group.value,
                "reason": r.reason[:120],
                "local_day": r.local_day,
                "assigned_at": r.assigned_at,
                "dedupe_key": r.dedupe_key,
                "coupon_id": r.coupon_id,
            }
            for r in rows
        ]
        added = 0
        statement = insert_ignoring_duplicates(self.conn, campaign_recipients)
        for chunk in _chunks(values):
            result = await self.conn.execute(statement, list(chunk))
            added += max(int(result.rowcount or 0), 0)
        return added

    async def assigned(self, campaign_id: int, group: Group) -> list[tuple[int, datetime]]:
        rows = await self.conn.execute(
            select(campaign_recipients.c.member_id, campaign_recipients.c.assigned_at)
            .where(
                campaign_recipients.c.campaign_id == campaign_id,
                campaign_recipients.c.cohort == group.value,
            )
            .order_by(campaign_recipients.c.member_id)
        )
        return [(int(row.member_id), row.assigned_at) for row in rows]

    async def mark_not_interested(self, campaign_id: int, member_id: int, now: datetime) -> bool:
        result = await self.conn.execute(
            update(campaign_recipients)
            .where(
                campaign_recipients.c.campaign_id == campaign_id,
                campaign_recipients.c.member_id == member_id,
                campaign_recipients.c.cohort == "treated",
                campaign_recipients.c.not_interested_at.is_(None),
            )
            .values(not_interested_at=now)
        )
        return bool(result.rowcount)

    async def counts_by_cohort(self, campaign_id: int) -> dict[str, int]:
        return (await self.counts_by_cohorts([campaign_id])).get(campaign_id, {})

    async def counts_by_cohorts(
        self, campaign_ids: Sequence[int]
    ) -> dict[int, dict[str, int]]:
        found: dict[int, dict[str, int]] = {}
        for chunk in _chunks(sorted(set(campaign_ids))):
            rows = await self.conn.execute(
                select(
                    campaign_recipients.c.campaign_id, campaign_recipients.c.cohort, func.count()
                )
                .where(campaign_recipients.c.campaign_id.in_(list(chunk)))
                .group_by(campaign_recipients.c.campaign_id, campaign_recipients.c.cohort)
            )
            for r in rows:
                found.setdefault(int(r[0]), {})[str(r[1])] = int(r[2])
        return found

    # -- the report --------------------------------------------------------------------------

    async def skipped_reasons(self, campaign_id: int) -> dict[str, int]:
        """Matched members not sent to, by reason: at start, and by the sender afterwards."""
        at_start = await self.conn.execute(
            select(campaign_recipients.c.reason, func.count())
            .where(
                campaign_recipients.c.campaign_id == campaign_id,
                campaign_recipients.c.cohort == "skipped",
            )
            .group_by(campaign_recipients.c.reason)
        )
        found = {str(r[0]): int(r[1]) for r in at_start}
        by_sender = await self._treated_outbox_counts(
            campaign_id, outbox.c.last_error, outbox.c.status == OutboxStatus.SKIPPED.value
        )
        for reason, n in by_sender.items():
            # The sender's cap reason names the count ("frequency cap: 2 ... (cap 2)").
            key = "frequency cap" if reason.startswith("frequency cap") else reason
            found[key] = found.get(key, 0) + n
        return found

    async def delivery(self, campaign_id: int) -> dict[str, int]:
        """The treated members' outbox rows by what became of them."""
        return await self._treated_outbox_counts(campaign_id, outbox.c.status)

    async def _treated_outbox_counts(
        self, campaign_id: int, column: Any, *conditions: Any
    ) -> dict[str, int]:
        """The outbox rows of the campaign's treated members, counted by `column`."""
        rows = await self.conn.execute(
            select(column, func.count())
            .select_from(
                campaign_recipients.join(
                    outbox, outbox.c.dedupe_key == campaign_recipients.c.dedupe_key
                )
            )
            .where(
                campaign_recipients.c.campaign_id == campaign_id,
                campaign_recipients.c.cohort == "treated",
                *conditions,
            )
            .group_by(column)
        )
        return {str(r[0]): int(r[1]) for r in rows}

    async def not_interested(self, campaign_id: int) -> int:
        return int(
            await self.conn.scalar(
                select(func.count()).where(
                    campaign_recipients.c.campaign_id == campaign_id,
                    campaign_recipients.c.not_interested_at.is_not(None),
                )
            )
            or 0
        )

    async def coupon_counts(self, campaign_id: int) -> tuple[int, int]:
        """Coupons the campaign issued, and how many of them were redeemed."""
        row = (
            await self.conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((coupons.c.status == "redeemed", 1), else_=0)), 0),
                ).where(
                    or_(
                        coupons.c.source == f"campaign:{campaign_id}",
                        coupons.c.source.like(f"campaign:{campaign_id}:%"),
                    )
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def group_outcome(self, campaign_id: int, cohort: str, days: int) -> GroupOutcome:
        """Members of a cohort, how many bought, purchases and net revenue within `days` after
        each member's assignment (refunds net off, as in the points rules)."""
        r = campaign_recipients
        window_end = r.c.assigned_at + literal_column(f"INTERVAL '{int(days)} days'")
        if self.conn.dialect.name == "sqlite":
            # SQLite stores the times as text: compare with the window end computed in SQL.
            window_end = func.strftime("%Y-%m-%d %H:%M:%f", r.c.assigned_at, f"+{days} days")
        per_member = (
            select(
                r.c.member_id,
                func.count(receipts.c.id).label("purchases"),
                func.coalesce(func.sum(receipts.c.amount_cents), 0).label("cents"),
            )
            .select_from(
                r.outerjoin(
                    receipts,
                    and_(
                        receipts.c.member_id == r.c.member_id,
                        receipts.c.occurred_at >= r.c.assigned_at,
                        receipts.c.occurred_at < window_end,
                        receipts.c.amount_cents > 0,
                    ),
                )
            )
            .where(r.c.campaign_id == campaign_id, r.c.cohort == cohort)
            .group_by(r.c.id, r.c.member_id)
            .subquery()
        )
        row = (
            await self.conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((per_member.c.purchases > 0, 1), else_=0)), 0),
                    func.coalesce(func.sum(per_member.c.purchases), 0),
                    func.coalesce(func.sum(per_member.c.cents), 0),
                )
            )
        ).one()
        return GroupOutcome(int(row[0]), int(row[1]), int(row[2]), from_cents(int(row[3])))

    # -- referrals ---------------------------------------------------------------------------

    async def add_referral(self, referral: Referral) -> bool:
        """Record a link opened by a chat account, unless that chat opened one before."""
        result = await self.conn.execute(
            insert_ignoring_duplicates(self.conn, referrals).values(
                referrer_member_id=referral.referrer_member_id,
                chat_user_id=referral.chat_user_id,
                referred_member_id=referral.referred_member_id,
                status=referral.status.value,
                reason=referral.reason,
                clicked_at=referral.clicked_at,
            )
        )
        return result.rowcount == 1

    async def referrals_to_attribute(
        self, limit: int
    ) -> list[tuple[Referral, int, datetime, str | None, str | None]]:
        """Clicked links whose chat account now belongs to a member: (referral, member id, the
        member's joined_at, the member's phone, the referrer's phone)."""
        referrer = members.alias("referrer")
        rows = await self.conn.execute(
            select(
                referrals,
                chat_users.c.member_id.label("now_member"),
                members.c.joined_at,
                members.c.phone,
                referrer.c.phone.label("referrer_phone"),
            )
            .join(chat_users, chat_users.c.id == referrals.c.chat_user_id)
            .join(members, members.c.id == chat_users.c.member_id)
            .join(referrer, referrer.c.id == referrals.c.referrer_member_id)
            .where(referrals.c.status == ReferralStatus.CLICKED.value)
            .order_by(referrals.c.id)
            .limit(limit)
        )
        return [
            (_referral(row), int(row.now_member), row.joined_at, row.phone, row.referrer_phone)
            for row in rows
        ]

    async def referrals_to_reward(self, limit: int) -> list[Referral]:
        """Attributed referrals whose new member has made a purchase."""
        bought = (
            select(receipts.c.id)
            .where(
                receipts.c.member_id == referrals.c.referred_member_id, receipts.c.amount_cents > 0
            )
            .exists()
        )
        rows = await self.conn.execute(
            select(referrals)
            .where(referrals.c.status == ReferralStatus.ATTRIBUTED.value, bought)
            .order_by(referrals.c.id)
            .limit(limit)
        )
        return [_referral(row) for row in rows]

    async def referrer_rewards_since(self, referrer_id: int, since: datetime) -> int:
        return int(
            await self.conn.scalar(
                select(func.count()).where(
                    referrals.c.referrer_member_id == referrer_id,
                    referrals.c.status == ReferralStatus.REWARDED.value,
                    referrals.c.rewarded_at >= since,
                )
            )
            or 0
        )

    async def has_referral_for(self, member_id: int) -> bool:
        return bool(
            await self.conn.scalar(
                select(func.count()).where(referrals.c.referred_member_id == member_id)
            )
        )

    async def save_referral(self, referral: Referral, now: datetime) -> None:
        values: dict[str, Any] = {
            "status": referral.status.value,
            "reason": referral.reason[:120],
            "referred_member_id": referral.referred_member_id,
            "rewarded_at": referral.rewarded_at,
        }
        if referral.status is ReferralStatus.ATTRIBUTED:
            values["attributed_at"] = now
        await self.conn.execute(
            update(referrals).where(referrals.c.id == referral.id).values(**values)
        )

    async def referral_counts(self, since: datetime | None = None) -> dict[str, int]:
        query = select(referrals.c.status, func.count()).group_by(referrals.c.status)
        if since is not None:
            query = query.where(referrals.c.clicked_at >= since)
        return {str(r[0]): int(r[1]) for r in await self.conn.execute(query)}
