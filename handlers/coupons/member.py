"""Coupons in the chat: /coupons with a QR code per coupon, points exchange, staff /redeem."""

from __future__ import annotations

import logging
import secrets
from decimal import Decimal

from domain.coupons.model import Coupon, Redeemer
from domain.coupons.rules import exchange_source, format_code
from domain.coupons.services import exchange_points, member_timezone, redeem_coupon
from domain.loyalty.model import PointsLedger
from domain.shared.errors import InsufficientPoints
from domain.shared.text import parse_id
from domain.staff.model import StaffMember, admin_from_settings
from handlers.coupons.qr import qr_png
from handlers.i18n import money
from handlers.routing import Context, Router, buttons, say
from handlers.types import Button, Outcome, Reply

log = logging.getLogger(__name__)
router = Router()

EXCHANGE_CONFIRM = "exchange_confirm"

COUPON_PHRASES = (
    "coupons", "my coupons", "vouchers", "my vouchers", "discount vouchers", "do i have coupons",
    "coupon code", "show my coupon", "birthday coupon", "where are my coupons",
    "any coupons for me", "discount code",
    "优惠券", "我的优惠券", "我的券", "礼券", "券", "代金券", "折扣券", "生日券", "有券吗",
    "有没有优惠券", "优惠券在哪", "看看我的券", "我的礼券", "抵用券",
)
EXCHANGE_PHRASES = (
    "exchange points", "exchange my points", "redeem points", "redeem my points",
    "use my points", "rewards", "points rewards", "reward catalogue", "what rewards are there",
    "what can i get with my points", "swap points for a coupon", "trade in points",
    "spend points", "spend my points", "convert points to a coupon", "turn points into a coupon",
    "points for a voucher", "exchange",
    "积分兑换", "兑换", "积分换券", "兑换礼品", "积分能换什么", "积分换优惠券", "用积分换",
    "积分商城", "积分怎么用", "积分抵现", "积分抵钱", "积分换礼品", "兑奖", "积分兑奖",
    "积分可以换", "换券", "我想兑换", "buy with points", "换购", "积分换购", "积分买东西",
)


# -- /coupons -----------------------------------------------------------------------------


@router.command("coupons", description_key="command.coupons", member_only=True)
@router.intent("coupons", COUPON_PHRASES, member_only=True)
async def coupons(ctx: Context) -> Outcome:
    """The member's usable coupons, soonest expiry first, one button each."""
    assert ctx.member is not None and ctx.member.id is not None
    async with ctx.deps.uow_factory() as uow:
        held = await uow.coupons.active_for(ctx.member.id, ctx.now)
        tz = await member_timezone(uow, ctx.deps.policy, ctx.member.home_store_id)
    exchange_row = [Button("coupons.exchange_button", "xr:menu")]
    if not held:
        return Outcome((Reply("coupons.none", buttons=buttons(exchange_row)),))
    rows = [
        [
            Button(
                "coupons.item_button",
                f"cp:{coupon.id}",
                {"name": coupon.name(ctx.lang), "day": coupon.last_valid_day(tz).isoformat()},
            )
        ]
        for coupon in held
    ]
    return Outcome(
        (Reply("coupons.list", {"count": len(held)}, buttons=buttons(*rows, exchange_row)),)
    )


@router.button("cp", member_only=True)
async def show_coupon(ctx: Context) -> Outcome:
    """A coupon's QR code (what the till scans), its code as text and its terms."""
    assert ctx.member is not None
    arg = ctx.inbound.payload.split(":", 1)[1] if ":" in ctx.inbound.payload else ""
    coupon_id = parse_id(arg)
    if coupon_id is None:
        return await coupons(ctx)
    async with ctx.deps.uow_factory() as uow:
        coupon = await uow.coupons.get(coupon_id)
        tz = await member_timezone(uow, ctx.deps.policy, ctx.member.home_store_id)
    if coupon is None or coupon.member_id != ctx.member.id:
        return say("coupons.not_found")
    if not coupon.usable(ctx.now):
        return say("coupons.not_usable")
    return Outcome(
        (
            Reply(
                "coupons.detail",
                {
                    "name": coupon.name(ctx.lang),
                    "code": format_code(coupon.code),
                    "terms": terms(ctx, coupon),
                    "day": coupon.last_valid_day(tz).isoformat(),
                },
                photo=qr_png(coupon.code),
            ),
        )
    )


def terms(ctx: Context, coupon: Coupon) -> str:
    """'¥10 off on a purchase of at least ¥50. Accepted at every store.' (zh: 10 元)"""
    currency = ctx.deps.policy.currency
    if coupon.kind == "amount":
        value = ctx.t("coupons.terms.amount", value=money(ctx.lang, coupon.value, currency))
    elif coupon.kind == "percent":
        value = ctx.t("coupons.terms.percent", value=_money(coupon.value))
    else:
        value = ctx.t("coupons.terms.gift")
    spend = (
        ctx.t("coupons.terms.min_spend", amount=money(ctx.lang, coupon.min_spend, currency))
        if coupon.min_spend > 0
        else ctx.t("coupons.terms.no_min_spend")
    )
    where = (
        ctx.t("coupons.terms.stores", stores=", ".join(coupon.stores))
        if coupon.stores
        else ctx.t("coupons.terms.all_stores")
    )
    return ctx.t("coupons.terms.line", value=value, spend=spend, where=where)


def _money(value: Decimal) -> str:
    """20 rather than 20.00; 12.50 stays."""
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"


# -- points exchange (积分兑换) -------------------------------------------------------------


@router.command("exchange", description_key="command.exchange", member_only=True)
@router.intent("exchange", EXCHANGE_PHRASES, member_only=True)
async def exchange_menu(ctx: Context) -> Outcome:
    """The catalogue with the member's spendable points."""
    catalogue = ctx.deps.policy.exchange
    if not catalogue:
        return say("exchange.empty")
    balance = await _available(ctx)
    policy = ctx.deps.policy
    # Only what the member can afford gets a button; the rest is listed with the points still
    # missing, so nobody picks a reward just to be told they cannot have it.
    rows = [
        [
            Button(
                "exchange.item_button",
                f"xr:{reward.key}",
                {"name": policy.coupon_template(reward.template).name(ctx.lang),
                 "points": reward.points},
            )
        ]
        for reward in catalogue
        if reward.points <= balance
    ]
    later = "\n".join(
        ctx.t(
            "exchange.out_of_reach_line",
            name=policy.coupon_template(reward.template).name(ctx.lang),
            points=reward.points,
            missing=reward.points - balance,
        )
        for reward in catalogue
        if reward.points > balance
    )
    key = "exchange.menu" if rows else "exchange.none_in_reach"
    replies = [Reply(key, {"balance": balance}, buttons=buttons(*rows))]
    if later:
        replies.append(Reply("exchange.out_of_reach", {"rewards": later}))
    return Outcome(tuple(replies))


@router.button("xr", member_only=True)
async def exchange_pick(ctx: Context) -> Outcome:
    """A reward was chosen: ask to confirm, with a one-time nonce in the button and the state."""
    key = ctx.inbound.payload.split(":", 1)[1] if ":" in ctx.inbound.payload else ""
    if key == "menu":
        return await exchange_menu(ctx)
    reward = ctx.deps.policy.reward(key)
    if reward is None:
        return say("exchange.unknown")
    balance = await _available(ctx)
    name = ctx.deps.policy.coupon_template(reward.template).name(ctx.lang)
    if balance < reward.points:
        return say(
            "exchange.not_enough", need=reward.points, have=balance,
            missing=reward.points - balance,
        )
    # The nonce makes this confirmation usable once: it names the ledger entry and the coupon
    # source, both unique in the database. 8 hex characters keep the data under 64 bytes.
    nonce = secrets.token_hex(4)
    return Outcome(
        (
            Reply(
                "exchange.confirm",
                {"name": name, "points": reward.points, "balance": balance},
                buttons=buttons(
                    [
                        Button("exchange.confirm_button", f"xc:{reward.key}:{nonce}"),
                        Button("exchange.cancel_button", "xn"),
                    ]
                ),
            ),
        ),
        next_state=EXCHANGE_CONFIRM,
        state_data={"reward": reward.key, "nonce": nonce},
    )


@router.button("xc", member_only=True)
async def exchange_confirm(ctx: Context) -> Outcome:
    """Spend the points and issue the coupon in one transaction; a repeat finds the coupon."""
    assert ctx.member is not None and ctx.member.id is not None
    parts = ctx.inbound.payload.split(":")
    if len(parts) != 3:
        return say("exchange.stale")
    _, key, nonce = parts
    current = ctx.data.get("reward") == key and ctx.data.get("nonce") == nonce
    if not current:
        # A second tap after the first was handled, or an old confirmation: never spend again,
        # but say what became of it when it was this member's.
        async with ctx.deps.uow_factory() as uow:
            done = await uow.coupons.get_by_source(ctx.member.id, exchange_source(key, nonce))
        if done is not None:
            return _already(ctx, done)
        return say("exchange.stale")
    try:
        async with ctx.deps.uow_factory() as uow:
            result = await exchange_points(
                uow, ctx.deps.policy, ctx.member.id, key, nonce, ctx.now
            )
            await uow.commit()
    except InsufficientPoints as exc:
        return Outcome((Reply(exc.key, exc.params),), next_state="", state_data={})
    if result.repeated:
        return _already(ctx, result.coupon)
    log.info("member %s exchanged %d points for %s", ctx.member.member_no, result.points, key)
    coupon = result.coupon
    return Outcome(
        (
            Reply(
                "exchange.done",
                {
                    "points": result.points,
                    "balance": result.balance,
                    "name": coupon.name(ctx.lang),
                    "code": format_code(coupon.code),
                },
                buttons=buttons([Button("coupons.show_button", f"cp:{coupon.id}")]),
                edit=True,
            ),
        ),
        next_state="",
        state_data={},
    )


def _already(ctx: Context, coupon: Coupon) -> Outcome:
    return Outcome(
        (
            Reply(
                "exchange.already",
                {"name": coupon.name(ctx.lang), "code": format_code(coupon.code)},
                buttons=buttons([Button("coupons.show_button", f"cp:{coupon.id}")]),
            ),
        ),
        next_state="",
        state_data={},
    )


@router.button("xn", member_only=True)
async def exchange_cancel(ctx: Context) -> Outcome:
    return Outcome((Reply("exchange.cancelled", edit=True),), next_state="", state_data={})


@router.state(EXCHANGE_CONFIRM)
async def exchange_waiting(ctx: Context) -> Outcome:
    return say("exchange.use_buttons")


async def _available(ctx: Context) -> int:
    assert ctx.member is not None and ctx.member.id is not None
    async with ctx.deps.uow_factory() as uow:
        entries = await uow.ledger.entries_for(ctx.member.id)
    return PointsLedger(ctx.member.id, entries).available(ctx.now)


# -- staff: /redeem ---------------------------------------------------------------------------


# Telegram, and the server's console (`retailbot chat --staff`), whose operator holds the
# database anyway; a member's terminal chat is never staff.
STAFF_CHANNELS = ("telegram", "console")


async def staff_of(ctx: Context) -> StaffMember | None:
    """The active staff account of the sender, or an admin from ADMIN_IDS; None otherwise."""
    if ctx.inbound.channel not in STAFF_CHANNELS:
        return None
    user_id = ctx.inbound.user_id
    async with ctx.deps.uow_factory() as uow:
        account = await uow.staff.get_by_telegram_id(user_id)
    if account is not None and account.active:
        return account
    if user_id in ctx.deps.desk.admin_ids:
        return admin_from_settings(user_id)
    return None


@router.command("redeem")  # no menu entry: members should not learn it exists
async def redeem(ctx: Context) -> Outcome:
    """/redeem CODE [STORE]: staff mark a member's coupon used at the till."""
    staff = await staff_of(ctx)
    if staff is None:
        # Exactly what any unknown command gets, so the command gives nothing away.
        log.warning(
            "user %s (not staff) sent /redeem; answered as an unknown command",
            ctx.inbound.user_id,
        )
        return Outcome((Reply("command.unknown", {"command": ctx.inbound.command[:32]}),))
    args = ctx.inbound.payload.split()
    if not args or len(args) > 2:
        return say("redeem.usage")
    async with ctx.deps.uow_factory() as uow:
        coupon = await redeem_coupon(
            uow,
            args[0],
            store_code=args[1] if len(args) > 1 else None,
            by=Redeemer(staff.label(), staff.store_code),
            now=ctx.now,
            tz=ctx.deps.policy.timezone,
        )
        member = await uow.members.get(coupon.member_id)
        await uow.commit()
    log.info(
        "staff %s redeemed coupon %s at %s",
        staff.telegram_user_id, coupon.code, coupon.redeemed_store,
    )
    return say(
        "redeem.done",
        code=format_code(coupon.code),
        store=coupon.redeemed_store or "",
        name=coupon.name(ctx.lang),
        terms=terms(ctx, coupon),
        member_no=member.member_no if member else "?",
    )
