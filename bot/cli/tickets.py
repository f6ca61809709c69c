"""`retailbot audit`: who did what to which ticket or member, and when."""

from __future__ import annotations

import argparse
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.bootstrap import App
from bot.cli.common import CliError, SubParsers, add_common_options, run_with_app, telegram_user_id


def cmd_audit(args: argparse.Namespace) -> int:
    """Who did what to which ticket or member, and when, oldest first."""
    from domain.tickets.rules import parse_ticket_number
    from domain.tickets.views import audit_trail

    ticket_id = None
    if args.ticket is not None:
        ticket_id = parse_ticket_number(args.ticket)
        if ticket_id is None:
            raise CliError(f"--ticket must be a ticket number such as 42 or T-000042, "
                           f"not {args.ticket!r}")
    actor = None
    if args.staff is not None:
        who = telegram_user_id(args.staff.strip(), "--staff")
        actor = f"staff:{who}"
    since_day = None
    if args.since is not None:
        try:
            since_day = datetime.strptime(args.since, "%Y-%m-%d").date()
        except ValueError as exc:
            reason = f"--since must be a date such as 2026-06-15, not {args.since!r}"
            raise CliError(reason) from exc

    async def work(app: App) -> int:
        tz = ZoneInfo(app.policy.timezone)
        since = datetime.combine(since_day, time(0), tzinfo=tz) if since_day else None
        async with app.uow_factory() as uow:
            entries = await audit_trail(
                uow, ticket_id=ticket_id, actor=actor, since=since, limit=args.limit
            )
        print(f"{'when':<17} {'who':<16} {'what':<16} {'ticket':<9} {'member':<12} detail")
        for entry in entries:
            ticket = f"T-{entry.ticket_id:06d}" if entry.ticket_id is not None else "-"
            member = f"member:{entry.member_id}" if entry.member_id is not None else "-"
            print(
                f"{entry.at.astimezone(tz):%Y-%m-%d %H:%M} {entry.actor:<16} "
                f"{entry.action:<16} {ticket:<9} {member:<12} {entry.detail}"
            )
        if not entries:
            print("(no entries match)")
        return 0

    return run_with_app(args, work)


def add_ticket_commands(sub: SubParsers) -> None:
    """`audit`, on the main parser."""
    p = sub.add_parser("audit", help="who did what to which ticket or member, and when")
    add_common_options(p)
    p.add_argument("--ticket", help="only this ticket (42 or T-000042)")
    p.add_argument("--staff", metavar="ID", help="only this staff member's Telegram user id")
    p.add_argument("--since", metavar="DATE", help="from this local day on (YYYY-MM-DD)")
    p.add_argument("--limit", type=int, default=500, help="at most this many, the latest (500)")
    p.set_defaults(func=cmd_audit)
