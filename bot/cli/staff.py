"""`retailbot staff add` and `staff list`: who works the ticket desk, and with which role."""

from __future__ import annotations

import argparse

from bot.bootstrap import App
from bot.cli.common import CliError, SubParsers, add_common_options, run_with_app, telegram_user_id


def cmd_staff_add(args: argparse.Namespace) -> int:
    """Add a staff account (or change its role, name or store)."""
    from domain.staff.model import StaffMember, parse_role

    telegram_id = telegram_user_id(args.telegram_id.strip(), "TELEGRAM_ID")
    role = parse_role(args.role)

    async def work(app: App) -> int:
        store = args.store.upper() if args.store else None
        async with app.uow_factory() as uow:
            if store and await uow.stores.get_by_code(store) is None:
                raise CliError(f"there is no store with the code {store}")
            await uow.staff.save(
                StaffMember(telegram_id, role, display_name=args.name or "", store_code=store)
            )
            await uow.commit()
        where = f" at {store}" if store else ""
        print(f"staff {telegram_id} ({args.name or 'no name'}) is now {role.value}{where}")
        return 0

    return run_with_app(args, work)


def cmd_staff_list(args: argparse.Namespace) -> int:
    """Staff accounts, and the admins from ADMIN_IDS."""

    async def work(app: App) -> int:
        async with app.uow_factory() as uow:
            accounts = await uow.staff.list()
        for account in accounts:
            state = "active" if account.active else "inactive"
            print(
                f"{account.telegram_user_id}\t{account.role.value}\t{account.store_code or '-'}"
                f"\t{state}\t{account.display_name}"
            )
        listed = {account.telegram_user_id for account in accounts}
        for admin in app.settings.admin_ids:
            if str(admin) not in listed:  # an admin gets a row once they work a ticket
                print(f"{admin}\tadmin\t-\tADMIN_IDS")
        if not accounts and not app.settings.admin_ids:
            print("no staff yet: add one with `retailbot staff add TELEGRAM_ID --role agent`")
        return 0

    return run_with_app(args, work)


def add_staff_commands(sub: SubParsers) -> None:
    """`staff add` and `staff list`, on the main parser."""
    p = sub.add_parser("staff", help="staff accounts (the ticket desk, /redeem in Telegram)")
    staff = p.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    q = staff.add_parser("add", help="add a staff account or change its role")
    add_common_options(q)
    q.add_argument("telegram_id", metavar="TELEGRAM_ID", help="the person's Telegram user id")
    q.add_argument(
        "--role", required=True,
        help="agent (works tickets), manager (and sees personal data, assigns, gets SLA "
        "alerts) or admin",
    )
    q.add_argument("--name", help="display name, recorded with what they do")
    q.add_argument("--store", help="their store's code: /redeem uses it when none is given")
    q.set_defaults(func=cmd_staff_add)
    q = staff.add_parser("list", help="staff accounts and ADMIN_IDS")
    add_common_options(q)
    q.set_defaults(func=cmd_staff_list)
