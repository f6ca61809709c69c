"""The member's side of a campaign message: "not interested" and "stop offers" (the coupon
button is the coupons feature's own `cp:` button), and the referral link's `/start ref_NO`."""

from __future__ import annotations

import logging

from domain.campaigns.services import not_interested, record_referral_click
from domain.members import services as membership
from domain.shared.text import parse_id
from handlers.routing import Context, Router, say
from handlers.types import Outcome

log = logging.getLogger(__name__)
router = Router()


def _campaign_id(ctx: Context) -> int | None:
    parts = ctx.inbound.payload.split(":")
    return parse_id(parts[1]) if len(parts) == 2 else None


@router.button("cni", member_only=True)
async def not_interested_button(ctx: Context) -> Outcome:
    """ "Not interested": recorded for the campaign's report; nothing else changes."""
    cid = _campaign_id(ctx)
    if cid is None or ctx.member is None or ctx.member.id is None:
        return say("button.expired")
    async with ctx.deps.uow_factory() as uow:
        await not_interested(uow, cid, ctx.member.id, ctx.now)
        await uow.commit()
    return say("campaigns.not_interested_done")


@router.button("cst", member_only=True)
async def stop_offers_button(ctx: Context) -> Outcome:
    """ "Stop offers": the same as /stop, at once, and logged as /stop is."""
    if ctx.member is None or ctx.member.id is None:
        return say("button.expired")
    async with ctx.deps.uow_factory() as uow:
        await membership.set_marketing_consent(
            uow, ctx.member.id, False, ctx.now, source="stop"
        )
        await uow.commit()
    return say("stop.done")


async def remember_referral(ctx: Context, member_no: str) -> None:
    """`/start ref_<member_no>` from a new chat: the link is recorded for the referrer; the
    referral counts once this chat joins as a new member (see the referral-rewards job)."""
    if ctx.member is not None or ctx.chat_user.id is None:
        return  # already a member: a link brings nobody new
    async with ctx.deps.uow_factory() as uow:
        recorded = await record_referral_click(uow, member_no[:32], ctx.chat_user.id, ctx.now)
        await uow.commit()
    if not recorded:
        log.info("referral link not recorded (unknown referrer or a link opened before)")
