"""The scheduled jobs of campaigns: queueing due waves, and rewarding referrals.

`campaign-waves` runs every few minutes: a running one-off campaign gets its wave the first
time (messages then wait in the outbox for the local send time in each member's store zone),
a recurring one a wave per cron time, and the daily triggers (days after the first purchase,
birthday month, points about to expire) one wave per local day. A wave is claimed first
(`claim_wave`: only one scheduler sends it) and queued WAVE_BATCH members per transaction;
every row is unique per campaign, member and wave, so a crash half-way is finished by the next
run. `referral-rewards` attributes new members to the links they came through and rewards
first purchases (see domain.campaigns.services).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from domain.campaigns.model import Campaign, CampaignStatus, ScheduleKind, WaveRun
from domain.campaigns.services import (
    ReferralRun,
    attribute_referrals,
    due_wave,
    queue_wave,
    reward_referrals,
    wave_audience,
)
from scheduler.batches import in_batches, in_transaction, until_done
from scheduler.registry import JobContext, JobSpec, run_recorded, run_summarised

if TYPE_CHECKING:
    from collections.abc import Sequence

    from domain.campaigns.model import AudienceMember
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork, UnitOfWorkFactory

WAVES_JOB = "campaign-waves"
REFERRALS_JOB = "referral-rewards"
WAVE_BATCH = 2000  # members per transaction: big enough to be fast, small enough to be short
REFERRAL_BATCH = 500


async def send_wave(
    uow_factory: UnitOfWorkFactory,
    policy: Policy,
    campaign_id: int,
    now: datetime,
    *,
    batch: int = WAVE_BATCH,
) -> WaveRun | None:
    """Queue the campaign's due wave, if any: claimed in one transaction, the audience read in
    one query, then a short transaction per `batch` members. None when nothing was due (or
    another scheduler claimed it)."""
    run = WaveRun()

    async def claim(uow: UnitOfWork) -> tuple[Campaign, str, list[AudienceMember]] | None:
        campaign = await uow.campaigns.get(campaign_id)
        if campaign is None:
            return None
        wave = due_wave(campaign, policy, now)
        if wave is None or not await uow.campaigns.claim_wave(
            campaign_id, campaign.last_wave_at, now
        ):
            return None
        return campaign, wave, await wave_audience(uow, policy, campaign, now)

    claimed = await in_transaction(uow_factory, claim)
    if claimed is None:
        return None
    campaign, wave, members = claimed

    async def queue(uow: UnitOfWork, chunk: Sequence[AudienceMember]) -> None:
        run.add(await queue_wave(uow, policy, campaign, wave, chunk, now))

    await in_batches(uow_factory, members, batch, queue)
    if campaign.spec.schedule.kind is ScheduleKind.ONCE:

        async def finish(uow: UnitOfWork) -> None:
            fresh = await uow.campaigns.get(campaign_id)
            if fresh is not None and fresh.status is CampaignStatus.RUNNING:
                fresh.status = CampaignStatus.FINISHED
                await uow.campaigns.update(fresh)

        await in_transaction(uow_factory, finish)
    return run


async def send_due_waves(uow_factory: UnitOfWorkFactory, policy: Policy, now: datetime) -> str:
    async def running(uow: UnitOfWork) -> list[Campaign]:
        return await uow.campaigns.find([CampaignStatus.RUNNING])

    lines = []
    for campaign in await in_transaction(uow_factory, running):
        assert campaign.id is not None
        run = await send_wave(uow_factory, policy, campaign.id, now)
        if run is not None:
            lines.append(f"campaign {campaign.id}: {run.summary()}")
    return "; ".join(lines) or "no wave due"


async def campaign_waves() -> str:
    """Queue the waves of running campaigns that are due."""

    async def work(context: JobContext) -> str:
        return await send_due_waves(context.uow_factory, context.policy, context.clock.now())

    return await run_recorded(WAVES_JOB, work)


async def settle_referrals(
    uow_factory: UnitOfWorkFactory, policy: Policy, now: datetime
) -> ReferralRun:
    run = ReferralRun()
    await until_done(uow_factory, lambda uow: attribute_referrals(uow, now, REFERRAL_BATCH, run))
    await until_done(
        uow_factory, lambda uow: reward_referrals(uow, policy, now, REFERRAL_BATCH, run)
    )
    return run


async def referral_rewards() -> str:
    """Attribute new members to referral links and reward first purchases."""
    return await run_summarised(
        REFERRALS_JOB,
        lambda job: settle_referrals(job.uow_factory, job.policy, job.clock.now()),
    )


def campaign_job_specs(policy: Policy) -> list[JobSpec]:
    every = policy.campaigns.every_minutes
    rules = policy.campaigns.referrals
    return [
        JobSpec(
            WAVES_JOB,
            campaign_waves,
            "scheduler.jobs.campaigns:campaign_waves",
            f"every {every} min; queues due waves of running campaigns (one-off, recurring, "
            "daily triggers)",
            CronTrigger(minute=f"*/{every}", timezone=UTC),
        ),
        JobSpec(
            REFERRALS_JOB,
            referral_rewards,
            "scheduler.jobs.campaigns:referral_rewards",
            f"hourly; referral reward: {rules.reward}, at most {rules.max_per_month} per "
            "referrer a month",
            CronTrigger(minute=7, timezone=UTC),
        ),
    ]
