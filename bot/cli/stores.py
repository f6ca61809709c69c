"""`retailbot store add` and `store list`: the chain's stores, which imports name by code."""

from __future__ import annotations

import argparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.bootstrap import App
from bot.cli.common import CliError, SubParsers, add_common_options, run_with_app


def cmd_store_add(args: argparse.Namespace) -> int:
    """Add a store (imports name stores by code), or rename it / change its time zone."""
    code = args.code.strip().upper()
    if not code or len(code) > 32 or not all(ch.isalnum() or ch in "-_" for ch in code):
        raise CliError(f"a store code is up to 32 letters, digits, - or _, not {args.code!r}")
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CliError(f"{args.timezone!r} is not an IANA time zone (Asia/Shanghai)") from exc

    async def work(app: App) -> int:
        from domain.members.model import Store

        async with app.uow_factory() as uow:
            existing = await uow.stores.get_by_code(code)
            store = Store(code, args.name.strip() or code, args.timezone)
            if existing is None:
                await uow.stores.add(store)
                verb = "added"
            else:
                await uow.stores.update(Store(code, store.name, store.timezone, id=existing.id))
                verb = "updated"
            await uow.commit()
        print(f"store {code} ({store.name}, {store.timezone}) {verb}")
        return 0

    return run_with_app(args, work)


def cmd_store_list(args: argparse.Namespace) -> int:
    """Every store with its code and time zone."""

    async def work(app: App) -> int:
        async with app.uow_factory() as uow:
            stores = await uow.stores.list()
        if not stores:
            print("no stores yet: add one with `retailbot store add CODE NAME --timezone TZ`")
        for store in stores:
            print(f"{store.code:<10} {store.timezone:<20} {store.name}")
        return 0

    return run_with_app(args, work)


def add_store_commands(sub: SubParsers) -> None:
    """`store add` and `store list`, on the main parser."""
    p = sub.add_parser("store", help="the chain's stores (imports refer to them by code)")
    store = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    q = store.add_parser("add", help="add a store, or update its name and time zone")
    add_common_options(q)
    q.add_argument("code", metavar="CODE", help="the store code used in CSV files (SH01)")
    q.add_argument("name", metavar="NAME", help="the store's name as members know it")
    q.add_argument("--timezone", default="Asia/Shanghai", help="IANA time zone (Asia/Shanghai)")
    q.set_defaults(func=cmd_store_add)
    q = store.add_parser("list", help="every store")
    add_common_options(q)
    q.set_defaults(func=cmd_store_list)
