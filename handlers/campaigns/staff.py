"""Campaigns in Telegram for managers and admins: /campaigns lists them with status and counts;
a campaign's button shows the preview funnel and the sample message in zh and en, and its
buttons start, pause, resume it or show its report. Agents and members get exactly the answer
an unknown command gets (and the attempt is logged without personal data)."""

from __future__ import annotations

import logging

from domain.campaigns.model import Campaign, CampaignReport, CampaignStatus
from domain.campaigns.services import (
    campaign_report,
    load_campaign,
    pause_campaign,
    preview_campaign,
    resume_campaign,
    start_campaign,
)
from domain.shared.text import parse_id
from domain.staff.model import StaffMember
from handlers.coupons.member import staff_of
from handlers.routing import Context, Router, buttons
from handlers.types import Button, Outcome, Reply

log = logging.getLogger(__name__)
router = Router()

PREFIX = "cmp"
LISTED = 20


async def _manager(ctx: Context) -> StaffMember | None:
    staff = await staff_of(ctx)
    if staff is None or not staff.is_manager_or_admin or not ctx.inbound.is_private:
        return None
    return staff


def _unknown(ctx: Context) -> Outcome:
    log.warning(
        "user %s (not a manager) tried campaigns; answered as an unknown command",
        ctx.inbound.user_id,
    )
    return Outcome(
        (Reply("command.unknown", {"command": ctx.inbound.command[:32] or "campaigns"}),)
    )


def actor(staff: StaffMember) -> str:
    return f"staff:{staff.telegram_user_id}"


@router.command("campaigns")  # no menu entry: members should not learn it exists
async def campaigns(ctx: Context) -> Outcome:
    """/campaigns: the latest campaigns with their status; a button opens one."""
    staff = await _manager(ctx)
    if staff is None:
        return _unknown(ctx)
    async with ctx.deps.uow_factory() as uow:
        found = (await uow.campaigns.find())[-LISTED:]
        # Every listed campaign's counts in one read, not one query per campaign.
        counts = await uow.campaigns.counts_by_cohorts([c.id for c in found if c.id])
    if not found:
        return Outcome((Reply("campaigns.none"),))
    lines = [
        ctx.t(
            "campaigns.line",
            id=c.id,
            name=c.name,
            status=ctx.t(f"campaigns.status.{c.status.value}"),
            treated=counts.get(c.id or 0, {}).get("treated", 0),
            control=counts.get(c.id or 0, {}).get("control", 0),
        )
        for c in found
    ]
    rows = [[Button("campaigns.open_button", f"{PREFIX}:v:{c.id}", {"id": c.id})] for c in found]
    return Outcome((Reply("campaigns.list", {"lines": "\n".join(lines)}, buttons=buttons(*rows)),))


def _actions(campaign: Campaign) -> tuple[tuple[Button, ...], ...]:
    cid = campaign.id
    row: list[Button] = []
    if campaign.status is CampaignStatus.DRAFT:
        row.append(Button("campaigns.start_button", f"{PREFIX}:s:{cid}"))
    elif campaign.status is CampaignStatus.RUNNING:
        row.append(Button("campaigns.pause_button", f"{PREFIX}:p:{cid}"))
    elif campaign.status is CampaignStatus.PAUSED:
        row.append(Button("campaigns.resume_button", f"{PREFIX}:r:{cid}"))
    row.append(Button("campaigns.report_button", f"{PREFIX}:rep:{cid}"))
    return buttons(row)


@router.button(PREFIX)
async def campaign_button(ctx: Context) -> Outcome:
    """A campaign's buttons: view (preview), start, pause, resume, report."""
    staff = await _manager(ctx)
    if staff is None:
        return _unknown(ctx)
    parts = ctx.inbound.payload.split(":")
    cid = parse_id(parts[2]) if len(parts) == 3 else None
    if cid is None:
        return Outcome((Reply("button.expired"),))
    action = parts[1]
    async with ctx.deps.uow_factory() as uow:
        if action == "v":
            preview = await preview_campaign(uow, ctx.deps.policy, cid, ctx.now)
            campaign = await load_campaign(uow, cid)
            f = preview.funnel
            return Outcome(
                (
                    Reply(
                        "campaigns.preview",
                        {
                            "id": cid,
                            "name": campaign.name,
                            "status": ctx.t(f"campaigns.status.{campaign.status.value}"),
                            "matched": f.matched,
                            "consent": f.consent,
                            "not_stopped": f.not_stopped,
                            "reachable": f.reachable,
                            "under_cap": f.under_cap,
                            "holdout": f.holdout,
                            "control": f.control,
                            "will_get": f.will_get,
                            "zh": preview.samples["zh"],
                            "en": preview.samples["en"],
                        },
                        buttons=_actions(campaign),
                    ),
                )
            )
        if action == "rep":
            report = await campaign_report(uow, ctx.deps.policy, cid, ctx.now)
            return Outcome((report_reply(ctx, report),))
        steps = {"s": start_campaign, "p": pause_campaign, "r": resume_campaign}
        step = steps.get(action)
        if step is None:
            return Outcome((Reply("button.expired"),))
        campaign = await step(uow, cid, actor(staff), ctx.now)
        await uow.commit()
    log.info("campaign %s is now %s (by staff %s)", cid, campaign.status.value, staff.id)
    return Outcome(
        (
            Reply(
                f"campaigns.now_{campaign.status.value}",
                {
                    "id": cid,
                    "name": campaign.name,
                    "minutes": ctx.deps.policy.campaigns.every_minutes,
                },
                buttons=_actions(campaign),
            ),
        )
    )


def report_reply(ctx: Context, report: CampaignReport) -> Reply:
    """The report as managers read it in the chat."""
    d = report.delivery
    up = report.uplift
    if up is None:
        verdict = ctx.t("campaigns.uplift_none")
    elif not up.conclusive:
        verdict = ctx.t("campaigns.uplift_too_small", min=ctx.deps.policy.campaigns.min_group_size)
    else:
        verdict = ctx.t(
            "campaigns.uplift",
            diff=f"{up.difference * 100:+.1f}",
            low=f"{up.low * 100:+.1f}",
            high=f"{up.high * 100:+.1f}",
        )
    skipped = "; ".join(f"{why}: {n}" for why, n in sorted(report.skipped.items())) or "-"
    return Reply(
        "campaigns.report",
        {
            "id": report.campaign.id,
            "name": report.campaign.name,
            "queued": sum(d.values()),
            "delivered": d.get("sent", 0),
            "blocked": d.get("failed", 0),
            "failed": d.get("dead", 0),
            "waiting": d.get("pending", 0) + d.get("deferred", 0),
            "skipped": skipped,
            "not_interested": report.not_interested,
            "issued": report.coupons_issued,
            "redeemed": report.coupons_redeemed,
            "days": report.attribution_days,
            "t_members": report.treated.members,
            "t_buyers": report.treated.buyers,
            "t_revenue": f"{report.treated.revenue:.2f}",
            "c_members": report.control.members,
            "c_buyers": report.control.buyers,
            "c_revenue": f"{report.control.revenue:.2f}",
            "verdict": verdict,
            "incremental": f"{report.incremental_revenue:.2f}"
            if report.incremental_revenue is not None
            else "-",
            "referrals": report.referrals.get("rewarded", 0),
        },
        buttons=_actions(report.campaign),
    )
