"""Campaign use cases: create, preview, start, pause, resume, queue a wave, react to segment
moves, report; and referrals. None of them commits: the CLI, a conversation step or a job does.

A wave is queued in batches (queue_wave takes a slice of the audience): the caller runs one
short transaction per slice, so 100,000 members never sit in one transaction nor in 100,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from domain.campaigns.model import (
    ALREADY_RECEIVED,
    FREQUENCY_CAP,
    HIGHER_PRIORITY,
    NO_CONSENT,
    OPTED_OUT,
    UNREACHABLE,
    AudienceMember,
    Campaign,
    CampaignError,
    CampaignReport,
    CampaignSpec,
    CampaignStatus,
    Funnel,
    Group,
    RecipientRow,
    Referral,
    ReferralStatus,
    ScheduleKind,
    Trigger,
    WaveRun,
)
from domain.campaigns.rules import (
    coupon_source,
    dedupe_key,
    in_control,
    in_global_holdout,
    incremental_revenue,
    last_fire,
    may_reenter,
    render,
    send_moment,
    uplift,
    wave_key,
    wins_over,
)
from domain.coupons.rules import coupon_from_template, format_code, new_code
from domain.loyalty.model import EntryKind, LedgerEntry
from domain.messaging.model import MessageKind, OutboxMessage
from domain.segments.events import MembersMoved
from domain.segments.model import Lifecycle
from domain.shared.clock import local_day
from domain.shared.outbox import queue_messages
from domain.shared.text import in_language
from domain.tickets.model import AuditEntry

if TYPE_CHECKING:
    from domain.coupons.model import Coupon
    from domain.segments.events import LifecycleChanged, SegmentChanged
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork

OFFER_KEY = "campaigns.offer"  # the outbox row's message key: "{body}" in both languages
SAMPLE_FIELDS = {"name": "Li Lei", "points": 320, "coupon_code": "K7MQ-2XHD"}
EVENT_TRIGGERS = (Trigger.ENTERED_SEGMENT, Trigger.MOVED_TO_AT_RISK)
# Running event-triggered campaigns, per unit of work (see _triggered).
_TRIGGERED: WeakKeyDictionary[UnitOfWork, list[Campaign]] = WeakKeyDictionary()


# -- creating and changing ------------------------------------------------------------------


async def create_campaign(
    uow: UnitOfWork, spec: CampaignSpec, actor: str, now: datetime
) -> Campaign:
    """A new campaign, as a draft: nobody gets anything until a manager starts it."""
    campaign = await uow.campaigns.add(Campaign(spec=spec, created_at=now, created_by=actor))
    await uow.audit.add(
        AuditEntry(actor, "campaign.create", now, detail=_detail(campaign))
    )
    return campaign


async def load_campaign(uow: UnitOfWork, campaign_id: int) -> Campaign:
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        raise CampaignError(f"there is no campaign {campaign_id}", key="campaigns.not_found")
    return campaign


async def start_campaign(uow: UnitOfWork, campaign_id: int, actor: str, now: datetime) -> Campaign:
    """Draft -> running, recorded in the audit log. Its waves are queued by the caller (the CLI
    at once, otherwise the campaigns job within minutes)."""
    campaign = await _load_in(
        uow, campaign_id, CampaignStatus.DRAFT, "campaigns.not_draft",
        ", not a draft: only a draft can be started (a paused one is resumed)",
    )
    campaign.started_at, campaign.started_by = now, actor
    await _move(uow, campaign, CampaignStatus.RUNNING, actor, "campaign.start", now)
    return campaign


async def pause_campaign(uow: UnitOfWork, campaign_id: int, actor: str, now: datetime) -> Campaign:
    """No more waves or triggered sends until resumed; messages already queued and still
    waiting are withdrawn (skipped with the reason "campaign paused")."""
    campaign = await _load_in(
        uow, campaign_id, CampaignStatus.RUNNING, "campaigns.not_running",
        ": only a running one is paused",
    )
    await _move(uow, campaign, CampaignStatus.PAUSED, actor, "campaign.pause", now,
                withdraw="campaign paused")
    return campaign


async def resume_campaign(
    uow: UnitOfWork, campaign_id: int, actor: str, now: datetime
) -> Campaign:
    campaign = await _load_in(
        uow, campaign_id, CampaignStatus.PAUSED, "campaigns.not_paused",
        ": only a paused one is resumed",
    )
    await _move(uow, campaign, CampaignStatus.RUNNING, actor, "campaign.resume", now)
    return campaign


async def _load_in(
    uow: UnitOfWork, campaign_id: int, status: CampaignStatus, key: str, only: str
) -> Campaign:
    """The campaign when it is `status`; refused with `key` (and the reason `only`) when not."""
    campaign = await load_campaign(uow, campaign_id)
    if campaign.status is not status:
        raise CampaignError(
            f"campaign {campaign_id} is {campaign.status.value}{only}",
            key=key,
            status=campaign.status.value,
        )
    return campaign


async def _move(
    uow: UnitOfWork,
    campaign: Campaign,
    status: CampaignStatus,
    actor: str,
    action: str,
    now: datetime,
    *,
    withdraw: str | None = None,
) -> None:
    """The campaign goes to `status`, messages still waiting are withdrawn with the reason
    `withdraw` when given, and the audit log records who did it."""
    campaign.status = status
    await uow.campaigns.update(campaign)
    if withdraw is not None:
        assert campaign.id is not None
        await uow.campaigns.withdraw_waiting(campaign.id, withdraw)
    await uow.audit.add(AuditEntry(actor, action, now, detail=_detail(campaign)))


def _detail(campaign: Campaign) -> str:
    return f"campaign {campaign.id}: {campaign.name}"


# -- the audience and the preview -------------------------------------------------------------


def _uses(spec: CampaignSpec, name: str) -> bool:
    return "{" + name + "}" in spec.message.en or "{" + name + "}" in spec.message.zh


async def wave_audience(
    uow: UnitOfWork,
    policy: Policy,
    campaign: Campaign,
    now: datetime,
    *,
    member_ids: Sequence[int] | None = None,
) -> list[AudienceMember]:
    """Who the campaign's filters match now (one query), with their stores and chats."""
    spec = campaign.spec
    month = spec.audience.birthday_month
    trigger = spec.schedule.trigger if spec.schedule.kind is ScheduleKind.TRIGGERED else None
    if month == 0 or trigger is Trigger.BIRTHDAY_MONTH:
        month = local_day(now, policy.timezone).month
    return await uow.campaigns.audience(
        spec.audience,
        now,
        chain_timezone=policy.timezone,
        birthday_month=month,
        trigger=trigger,
        trigger_days=spec.schedule.days,
        member_ids=member_ids,
        with_points=_uses(spec, "points"),
    )


def control_share(policy: Policy, spec: CampaignSpec) -> float:
    return spec.control_share if spec.control_share is not None else policy.campaigns.control_share


@dataclass
class Preview:
    funnel: Funnel
    samples: dict[str, str]  # language -> the message as the sample member reads it
    sample_member: str = ""  # "member 100001" or "an example member"


async def preview_campaign(
    uow: UnitOfWork, policy: Policy, campaign_id: int, now: datetime
) -> Preview:
    """The funnel, rule by rule, and the message rendered for a sample member in zh and en."""
    campaign = await load_campaign(uow, campaign_id)
    assert campaign.id is not None
    matched = await wave_audience(uow, policy, campaign, now)
    funnel = Funnel(matched=len(matched))
    consenting = [m for m in matched if m.marketing_consent]
    funnel.consent = len(consenting)
    not_stopped = [m for m in consenting if not m.opted_out]
    funnel.not_stopped = len(not_stopped)
    reachable = [m for m in not_stopped if m.chat_id is not None]
    funnel.reachable = len(reachable)
    counts = await uow.campaigns.marketing_counts(
        [m.member_id for m in reachable], now - timedelta(days=7)
    )
    cap = policy.delivery.marketing_per_7_days
    under_cap = [m for m in reachable if counts.get(m.member_id, 0) < cap]
    funnel.under_cap = len(under_cap)
    share = control_share(policy, campaign.spec)
    holdout = policy.campaigns.global_holdout_share
    left = []
    for m in under_cap:
        if in_global_holdout(m.member_id, holdout):
            funnel.holdout += 1
        elif in_control(campaign.id, m.member_id, share):
            funnel.control += 1
        else:
            left.append(m)
    funnel.will_get = len(left)
    sample = left[0] if left else (matched[0] if matched else None)
    samples = {
        lang: render(
            in_language(lang, campaign.spec.message.en, campaign.spec.message.zh),
            _fields(policy, sample, None, lang) if sample else {**SAMPLE_FIELDS},
        )
        for lang in ("zh", "en")
    }
    who = f"member #{sample.member_id}" if sample else "an example member"
    return Preview(funnel, samples, who)


def _fields(
    policy: Policy, member: AudienceMember, coupon: Coupon | None, lang: str
) -> dict[str, Any]:
    tz = member.timezone or policy.timezone
    return {
        "name": member.name,
        "points": member.points,
        "tier": policy.tier(member.tier).name(lang),
        "store": member.store_name or policy.chain_name,
        "coupon_code": format_code(coupon.code) if coupon else "",
        "coupon_expires": coupon.last_valid_day(tz).isoformat() if coupon else "",
    }


# -- queueing a wave --------------------------------------------------------------------------


async def queue_wave(
    uow: UnitOfWork,
    policy: Policy,
    campaign: Campaign,
    wave: str,
    batch: Sequence[AudienceMember],
    now: datetime,
) -> WaveRun:
    """Queue one slice of a wave: each member is held back (hold-out, control), skipped with
    the reason, or gets their own coupon and an outbox row (marketing) in this transaction.

    Idempotent: a member already in this wave is left alone (recipients, coupons and outbox
    rows are unique per campaign, member and wave)."""
    assert campaign.id is not None
    spec, cid = campaign.spec, campaign.id
    run = WaveRun()
    if spec.schedule.kind is not ScheduleKind.ONCE:
        last = await uow.campaigns.last_received(cid, [m.member_id for m in batch])
        fresh = [
            m for m in batch if may_reenter(spec.schedule.reentry_days, last.get(m.member_id), now)
        ]
        if len(fresh) < len(batch):
            run.skipped[ALREADY_RECEIVED] = len(batch) - len(fresh)
        batch = fresh
    run.matched = len(batch)
    share = control_share(policy, spec)
    holdout = policy.campaigns.global_holdout_share
    rows: list[RecipientRow] = []
    treated: list[tuple[AudienceMember, datetime]] = []
    # The weekly cap as of now: a member already at it gets neither a coupon nor a message
    # (the sender checks again when the message is due).
    sent_7d = await uow.campaigns.marketing_counts(
        [m.member_id for m in batch if m.chat_id is not None], now - timedelta(days=7)
    )
    cap = policy.delivery.marketing_per_7_days
    for m in batch:
        tz = m.timezone or policy.timezone
        at = send_moment(spec, tz, now)
        row = RecipientRow(cid, m.member_id, wave, Group.SKIPPED, local_day(at, tz), now)
        if not m.marketing_consent:
            row.reason = NO_CONSENT
        elif m.opted_out:
            row.reason = OPTED_OUT
        elif m.chat_id is None:
            row.reason = UNREACHABLE
        elif sent_7d.get(m.member_id, 0) >= cap:
            row.reason = FREQUENCY_CAP
        elif in_global_holdout(m.member_id, holdout):
            row.group = Group.HOLDOUT
        elif in_control(cid, m.member_id, share):
            row.group = Group.CONTROL
        else:
            row.group = Group.TREATED
            treated.append((m, at))
        rows.append(row)
    by_member = {r.member_id: r for r in rows}
    rivals = await uow.campaigns.rivals(
        cid, {m.member_id: by_member[m.member_id].local_day for m, _at in treated}
    )
    beaten_rows: list[int] = []
    beaten_keys: list[str] = []
    winners: list[tuple[AudienceMember, datetime]] = []
    for m, at in treated:
        theirs = rivals.get(m.member_id, [])
        # A rival already delivered keeps the day whatever its priority: one offer a day.
        if any(
            rival.sent or not wins_over(spec.priority, cid, rival) for rival, _id, _key in theirs
        ):
            by_member[m.member_id].group = Group.SKIPPED
            by_member[m.member_id].reason = HIGHER_PRIORITY
            continue
        for _rival, recipient_id, key in theirs:
            beaten_rows.append(recipient_id)
            if key:
                beaten_keys.append(key)
        winners.append((m, at))
    if beaten_rows:
        await uow.campaigns.supersede(beaten_rows, beaten_keys, HIGHER_PRIORITY)
    held = await _issue_coupons(uow, policy, spec, cid, wave, winners, now)
    offers = []
    for m, at in winners:
        row = by_member[m.member_id]
        coupon = held.get(m.member_id)
        row.dedupe_key = dedupe_key(cid, wave, m.member_id)
        row.coupon_id = coupon.id if coupon else None
        offers.append(_offer(policy, spec, cid, m, coupon, row.dedupe_key, at))
    run.queued += await queue_messages(uow, offers, now)
    run.coupons = len(held)
    await uow.campaigns.add_recipients(rows)
    for row in rows:
        if row.group is Group.CONTROL:
            run.control += 1
        elif row.group is Group.HOLDOUT:
            run.holdout += 1
        elif row.group is Group.SKIPPED:
            run.skipped[row.reason] = run.skipped.get(row.reason, 0) + 1
    return run


async def _issue_coupons(
    uow: UnitOfWork,
    policy: Policy,
    spec: CampaignSpec,
    cid: int,
    wave: str,
    winners: Sequence[tuple[AudienceMember, datetime]],
    now: datetime,
) -> dict[int, Coupon]:
    """Each recipient's own coupon, issued in batches (one per member and wave)."""
    if not spec.coupon_template or not winners:
        return {}
    template = policy.coupon_template(spec.coupon_template)
    source = coupon_source(cid, wave)
    zones = {m.member_id: m.timezone or policy.timezone for m, _at in winners}
    ids = list(zones)
    missing = ids  # a rerun finds theirs already issued: the insert skips them
    for _attempt in range(3):  # a code collision is rare; new codes for those left over
        await uow.coupons.add_many_if_new(
            [coupon_from_template(template, i, source, new_code(), now, zones[i]) for i in missing]
        )
        held = await uow.coupons.by_source(ids, source)
        missing = [i for i in ids if i not in held]
        if not missing:
            return held
    if len(held) < len(ids):
        raise CampaignError(f"could not issue {len(ids) - len(held)} coupons: codes collided")
    return held


def _offer(
    policy: Policy,
    spec: CampaignSpec,
    cid: int,
    member: AudienceMember,
    coupon: Coupon | None,
    key: str,
    at: datetime,
) -> OutboxMessage:
    assert member.chat_id is not None
    fields = _fields(policy, member, coupon, "en")
    body = {"en": render(spec.message.en, fields)}
    fields["tier"] = policy.tier(member.tier).name("zh")
    body["zh"] = render(spec.message.zh, fields)
    buttons: list[list[dict[str, str]]] = []
    for name in spec.message.buttons:
        if name == "coupon" and coupon is not None:
            buttons.append([{"key": "campaigns.button.coupon", "data": f"cp:{coupon.id}"}])
        elif name == "not_interested":
            buttons.append([{"key": "campaigns.button.not_interested", "data": f"cni:{cid}"}])
        elif name == "stop":
            buttons.append([{"key": "campaigns.button.stop", "data": f"cst:{cid}"}])
    return OutboxMessage(
        dedupe_key=key,
        chat_id=member.chat_id,
        chat_user_id=member.chat_user_id,
        member_id=member.member_id,
        kind=MessageKind.MARKETING,
        message_key=OFFER_KEY,
        params={"body": body},
        photo=spec.message.photo,
        buttons=buttons,
        next_attempt_at=at,
    )


# -- when waves are due -----------------------------------------------------------------------


def due_wave(campaign: Campaign, policy: Policy, now: datetime) -> str | None:
    """The wave of a running campaign that is due by `now` and not yet queued, or None."""
    spec = campaign.spec
    if campaign.status is not CampaignStatus.RUNNING:
        return None
    kind = spec.schedule.kind
    if kind is ScheduleKind.ONCE:
        return "once" if campaign.last_wave_at is None else None
    if kind is ScheduleKind.RECURRING:
        since = campaign.last_wave_at or campaign.started_at or now - timedelta(minutes=1)
        fire = last_fire(spec.schedule.cron, policy.timezone, now, since)
        return wave_key(spec, fire) if fire is not None else None
    if spec.schedule.trigger in EVENT_TRIGGERS:
        return None  # these go member by member, when the segments refresh says so
    today = local_day(now, policy.timezone)
    if (
        campaign.last_wave_at is not None
        and local_day(campaign.last_wave_at, policy.timezone) >= today
    ):
        return None
    return today.strftime("%Y%m%d")


# -- triggered by segment moves ---------------------------------------------------------------


async def _triggered(
    uow: UnitOfWork,
    policy: Policy,
    member_ids: Sequence[int],
    now: datetime,
    wanted: Trigger,
    segment: str,
) -> None:
    running = _TRIGGERED.get(uow)
    if running is None:
        # A refresh records an event per member who moved: read the campaigns once per
        # transaction, not once per event.
        running = [
            c
            for c in await uow.campaigns.find([CampaignStatus.RUNNING])
            if c.spec.schedule.kind is ScheduleKind.TRIGGERED
            and c.spec.schedule.trigger in EVENT_TRIGGERS
        ]
        _TRIGGERED[uow] = running
    for campaign in running:
        schedule = campaign.spec.schedule
        if schedule.kind is not ScheduleKind.TRIGGERED or schedule.trigger is not wanted:
            continue
        if wanted is Trigger.ENTERED_SEGMENT and schedule.segment != segment:
            continue
        members = await wave_audience(uow, policy, campaign, now, member_ids=member_ids)
        if members:
            wave = local_day(now, policy.timezone).strftime("%Y%m%d")
            await queue_wave(uow, policy, campaign, wave, members, now)


async def when_lifecycle_changed(uow: UnitOfWork, event: LifecycleChanged, policy: Policy) -> None:
    """A member moved to "at risk": the campaigns triggered by that reach them (re-entry rule
    and all marketing rules applying), in the refresh's transaction."""
    await when_members_moved(uow, MembersMoved(event.at, lifecycles=(event,), segments=()), policy)


async def when_segment_changed(uow: UnitOfWork, event: SegmentChanged, policy: Policy) -> None:
    """A member entered a named segment: the campaigns triggered by entering it reach them."""
    await when_members_moved(uow, MembersMoved(event.at, lifecycles=(), segments=(event,)), policy)


async def when_members_moved(uow: UnitOfWork, event: MembersMoved, policy: Policy) -> None:
    """A refresh's slice of moves: the rules of `when_lifecycle_changed` and
    `when_segment_changed` for all of its members at once, one audience query per campaign
    and trigger instead of one per member."""
    at_risk = [
        e.member_id
        for e in event.lifecycles
        if e.new is Lifecycle.AT_RISK and e.old is not Lifecycle.AT_RISK
    ]
    if at_risk:
        await _triggered(uow, policy, at_risk, event.at, Trigger.MOVED_TO_AT_RISK, "")
    entered: dict[str, list[int]] = {}
    for e in event.segments:
        if e.new and e.new != e.old:
            entered.setdefault(e.new, []).append(e.member_id)
    for segment, member_ids in sorted(entered.items()):
        await _triggered(uow, policy, member_ids, event.at, Trigger.ENTERED_SEGMENT, segment)


# -- the report -------------------------------------------------------------------------------


async def campaign_report(
    uow: UnitOfWork, policy: Policy, campaign_id: int, now: datetime
) -> CampaignReport:
    campaign = await load_campaign(uow, campaign_id)
    days = policy.campaigns.attribution_days
    treated = await uow.campaigns.group_outcome(campaign_id, Group.TREATED.value, days)
    control = await uow.campaigns.group_outcome(campaign_id, Group.CONTROL.value, days)
    issued, redeemed = await uow.campaigns.coupon_counts(campaign_id)
    return CampaignReport(
        campaign=campaign,
        delivery=await uow.campaigns.delivery(campaign_id),
        skipped=await uow.campaigns.skipped_reasons(campaign_id),
        not_interested=await uow.campaigns.not_interested(campaign_id),
        coupons_issued=issued,
        coupons_redeemed=redeemed,
        treated=treated,
        control=control,
        uplift=uplift(treated, control, policy.campaigns.min_group_size),
        incremental_revenue=incremental_revenue(treated, control),
        referrals=await uow.campaigns.referral_counts(),
        attribution_days=days,
        cohorts=await uow.campaigns.counts_by_cohort(campaign_id),
    )


# -- member buttons ---------------------------------------------------------------------------


async def not_interested(uow: UnitOfWork, campaign_id: int, member_id: int, now: datetime) -> bool:
    """ "Not interested": recorded once, counted in the report."""
    return await uow.campaigns.mark_not_interested(campaign_id, member_id, now)


# -- referrals --------------------------------------------------------------------------------


async def record_referral_click(
    uow: UnitOfWork, referrer_no: str, chat_user_id: int, now: datetime
) -> bool:
    """A chat account opened `?start=ref_<member_no>`; the first link a chat opens counts."""
    referrer = await uow.members.get_by_member_no(referrer_no)
    if referrer is None or referrer.id is None:
        return False
    return await uow.campaigns.add_referral(Referral(referrer.id, chat_user_id, now))


@dataclass
class ReferralRun:
    attributed: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    rewarded: int = 0

    def summary(self) -> str:
        refused = ", ".join(f"{n} {why}" for why, n in sorted(self.refused.items())) or "none"
        return (
            f"{self.attributed} referrals attributed, {self.rewarded} rewarded; refused: {refused}"
        )


async def attribute_referrals(
    uow: UnitOfWork, now: datetime, limit: int, run: ReferralRun
) -> bool:
    """Clicked links whose chat now belongs to a member: a member who joined after the click is
    attributed to the referrer; someone who was already a member, the referrer themselves, or
    the referrer's own phone is refused. True when a full batch was handled."""
    found = await uow.campaigns.referrals_to_attribute(limit)
    for referral, member_id, joined_at, phone, referrer_phone in found:
        if member_id == referral.referrer_member_id:
            reason = "self-referral"
        elif phone and phone == referrer_phone:
            reason = "same phone as the referrer"
        elif joined_at < referral.clicked_at:
            reason = "already a member before the link"
        elif await uow.campaigns.has_referral_for(member_id):
            reason = "already referred by someone else"
        else:
            reason = ""
        referral.referred_member_id = None if reason else member_id
        referral.status = ReferralStatus.REFUSED if reason else ReferralStatus.ATTRIBUTED
        referral.reason = reason
        await uow.campaigns.save_referral(referral, now)
        if reason:
            run.refused[reason] = run.refused.get(reason, 0) + 1
        else:
            run.attributed += 1
    return len(found) == limit


async def reward_referrals(
    uow: UnitOfWork, policy: Policy, now: datetime, limit: int, run: ReferralRun
) -> bool:
    """After the new member's first purchase both get the policy's reward, once: points under a
    unique ledger key, or a coupon unique per member and source. A referrer over the monthly
    limit gets nothing for it (refused, with the reason)."""
    rules = policy.campaigns.referrals
    found = await uow.campaigns.referrals_to_reward(limit)
    month = now.astimezone(ZoneInfo(policy.timezone)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    for referral in found:
        assert referral.id is not None and referral.referred_member_id is not None
        done = await uow.campaigns.referrer_rewards_since(referral.referrer_member_id, month)
        if done >= rules.max_per_month:
            referral.status = ReferralStatus.REFUSED
            referral.reason = f"referrer over {rules.max_per_month} referrals this month"
            run.refused[referral.reason] = run.refused.get(referral.reason, 0) + 1
            await uow.campaigns.save_referral(referral, now)
            continue
        pairs = (
            (referral.referrer_member_id, rules.referrer_points, "referrer"),
            (referral.referred_member_id, rules.referred_points, "referred"),
        )
        if rules.reward == "points":
            await uow.ledger.append(
                [
                    LedgerEntry(
                        member,
                        EntryKind.ADJUST,
                        points,
                        f"referral:{referral.id}:{role}",
                        now,
                        note="referral reward",
                    )
                    for member, points, role in pairs
                    if points > 0
                ]
            )
        elif rules.reward == "coupon":
            template = policy.coupon_template(rules.coupon_template)
            await uow.coupons.add_many_if_new(
                [
                    coupon_from_template(
                        template,
                        member,
                        f"referral:{referral.id}",
                        new_code(),
                        now,
                        policy.timezone,
                    )
                    for member, _points, _role in pairs
                ]
            )
        referral.status = ReferralStatus.REWARDED
        referral.rewarded_at = now
        await uow.campaigns.save_referral(referral, now)
        run.rewarded += 1
    return len(found) == limit
