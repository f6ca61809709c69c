"""`retailbot coupon redeem`, `coupon issue` and `coupon show`: coupons at the till."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from bot.bootstrap import App
from bot.cli.common import CliError, SubParsers, add_common_options, local_time, run_with_app


def cmd_coupon_redeem(args: argparse.Namespace) -> int:
    """Redeem a coupon at a store from the till's computer; refusals say why."""
    from domain.coupons.model import CouponRefused, Redeemer
    from domain.coupons.rules import format_code
    from domain.coupons.services import redeem_coupon

    spend = _amount(args.spend) if args.spend is not None else None

    async def work(app: App) -> int:
        try:
            async with app.uow_factory() as uow:
                coupon = await redeem_coupon(
                    uow,
                    args.code,
                    store_code=args.store,
                    by=Redeemer(f"cli:{args.by}" if args.by else "cli"),
                    now=app.clock.now(),
                    member_no=args.member,
                    spend=spend,
                    tz=app.policy.timezone,
                )
                await uow.commit()
        except CouponRefused as exc:
            raise CliError(_plain(app.translator("en", exc.key, **exc.params))) from exc
        print(
            f"redeemed {format_code(coupon.code)} at {coupon.redeemed_store}: "
            f"{coupon.name_en} (member id {coupon.member_id})"
        )
        return 0

    return run_with_app(args, work)


def cmd_coupon_issue(args: argparse.Namespace) -> int:
    """Give a member a coupon from a template (once per source)."""
    from domain.coupons.rules import format_code
    from domain.coupons.services import issue_coupon
    from domain.shared.errors import PolicyError

    async def work(app: App) -> int:
        now = app.clock.now()
        source = args.source or f"manual:{now:%Y%m%d%H%M%S}"
        async with app.uow_factory() as uow:
            member = await uow.members.get_by_member_no(args.member)
            if member is None or member.id is None:
                raise CliError(f"there is no member {args.member}")
            try:
                coupon, new = await issue_coupon(
                    uow, app.policy, member.id, args.template, source, now
                )
            except PolicyError as exc:
                raise CliError(str(exc)) from exc
            await uow.commit()
        day = coupon.last_valid_day(app.policy.timezone)
        verb = "issued" if new else "already had"
        print(f"{args.member} {verb} {format_code(coupon.code)} ({coupon.name_en}), until {day}")
        return 0

    return run_with_app(args, work)


def cmd_coupon_show(args: argparse.Namespace) -> int:
    """A coupon's owner, terms and status, by code."""
    from domain.coupons.rules import format_code, normalise_code

    code = normalise_code(args.code)
    if code is None:
        raise CliError(f"{args.code!r} is not a valid coupon code (check for typos)")

    async def work(app: App) -> int:
        async with app.uow_factory() as uow:
            coupon = await uow.coupons.get_by_code(code)
            member = await uow.members.get(coupon.member_id) if coupon else None
        if coupon is None:
            raise CliError(f"no coupon has the code {format_code(code)}")
        tz = app.policy.timezone
        print(f"{format_code(coupon.code)}: {coupon.name_en} / {coupon.name_zh}")
        print(f"  member: {member.member_no if member else coupon.member_id}")
        print(f"  source: {coupon.source}; status: {coupon.status.value}")
        print(f"  valid until: {coupon.last_valid_day(tz)}; min spend: {coupon.min_spend}")
        print(f"  stores: {', '.join(coupon.stores) or 'all'}")
        if coupon.redeemed_at:
            print(
                f"  redeemed: {local_time(coupon.redeemed_at, ZoneInfo(tz))} at "
                f"{coupon.redeemed_store} by {coupon.redeemed_by}"
            )
        return 0

    return run_with_app(args, work)


def _amount(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise CliError(f"--spend must be an amount such as 120.50, not {raw!r}") from exc
    if value < 0:
        raise CliError("--spend must not be negative")
    return value


def _plain(message: str) -> str:
    """A chat message as a one-line reason: without the emoji that opens it."""
    return message.lstrip("❌✅ ").strip()


def add_coupon_commands(sub: SubParsers) -> None:
    """`coupon redeem`, `coupon issue` and `coupon show`, on the main parser."""
    p = sub.add_parser("coupon", help="redeem, issue or look up a coupon")
    coupon = p.add_subparsers(dest="coupon_command", metavar="ACTION", required=True)
    q = coupon.add_parser("redeem", help="redeem a coupon at a store")
    add_common_options(q)
    q.add_argument("code", metavar="CODE", help="the coupon code (with or without the dash)")
    q.add_argument("--store", required=True, help="the code of the store redeeming it")
    q.add_argument("--member", help="refuse unless the coupon belongs to this member number")
    q.add_argument("--spend", help="the purchase amount, checked against the minimum spend")
    q.add_argument("--by", help="who redeems it, for the record (a till or staff id)")
    q.set_defaults(func=cmd_coupon_redeem)
    q = coupon.add_parser("issue", help="give a member a coupon from a template")
    add_common_options(q)
    q.add_argument("--member", required=True, help="the member number")
    q.add_argument("--template", required=True, help="a key of [coupons.templates]")
    q.add_argument("--source", help="e.g. campaign:12; one coupon per member and source")
    q.set_defaults(func=cmd_coupon_issue)
    q = coupon.add_parser("show", help="a coupon's owner, terms and status")
    add_common_options(q)
    q.add_argument("code", metavar="CODE")
    q.set_defaults(func=cmd_coupon_show)
