"""The `retailbot` command line: init, demo, chat, run, import, jobs, staff, audit... --help."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.bootstrap import (
    App,
    build_app,
    build_delivery,
    build_messenger,
    build_sender,
    job_context,
)
from bot.config import ConfigError, Settings
from domain.shared.errors import DomainError, InvalidPhone
from domain.shared.phones import normalize_phone

TEMPLATE = Path(__file__).parents[1] / "templates" / "retailbot.toml"
log = logging.getLogger("retailbot")


class CliError(Exception):
    """A one-line reason shown to the operator; the command exits with status 2."""


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    overrides = {}
    if getattr(args, "database", None):
        overrides["database_url"] = args.database
    if getattr(args, "config", None):
        overrides["config_path"] = Path(args.config)
    if overrides:
        from dataclasses import replace

        settings = replace(settings, **overrides)
    return settings


async def _with_app(args: argparse.Namespace, work: Callable[[App], Awaitable[int]]) -> int:
    app = await build_app(_settings(args))
    try:
        return await work(app)
    finally:
        await app.close()


# --- init --------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """Create or migrate the database and write a commented retailbot.toml if there is none."""
    target = Path(args.config or "retailbot.toml")
    if not target.exists():
        target.write_text(TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
        print(f"wrote {target} (the shop's rules, with comments)")
    else:
        print(f"kept the existing {target}")

    async def work(app: App) -> int:
        print(f"database ready: {app.engine.url.render_as_string(hide_password=True)}")
        return 0

    return asyncio.run(_with_app(args, work))


# --- demo and chat -----------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Seed a demo chain (unless there are members already) and open the terminal chat."""
    from bot.demo import DEMO_NEW_PHONE, seed_demo

    async def work(app: App) -> int:
        async with app.uow_factory() as uow:
            existing = await uow.members.count()
        if existing and not args.reseed:
            print(f"the database already has {existing} members; using them (--reseed to add)")
        else:
            summary = await seed_demo(
                app, members=args.members, seed=args.seed, progress=not args.quiet
            )
            print(summary)
        if args.no_chat:
            return 0
        phone = args.as_ or await _demo_member_phone(app)
        print(f"\nYou are chatting as the demo member with phone {phone}.")
        print(f"(Try `retailbot chat --as {DEMO_NEW_PHONE}` to join as a new member.)")
        return await _chat(app, phone, args.lang)

    return asyncio.run(_with_app(args, work))


async def _demo_member_phone(app: App) -> str:
    from bot.demo import demo_member_phone

    phone = await demo_member_phone(app)
    if phone is None:
        raise CliError("the database has no members to chat as; run `retailbot demo --reseed`")
    return phone


def cmd_chat(args: argparse.Namespace) -> int:
    """Open the terminal chat as the member with this phone or member number."""

    async def work(app: App) -> int:
        if args.staff:
            return await _staff_chat(app, args.as_, args.lang)
        phone = await _resolve_identity(app, args.as_)
        return await _chat(app, phone, args.lang)

    return asyncio.run(_with_app(args, work))


async def _staff_chat(app: App, telegram_id: str, lang: str) -> int:
    """The staff desk in the terminal, as the staff account with this Telegram id."""
    from bot.terminal import TerminalChat

    who = telegram_id.strip()
    async with app.uow_factory() as uow:
        account = await uow.staff.get_by_telegram_id(who)
    admins = {str(i) for i in app.settings.admin_ids}
    if (account is None or not account.active) and who not in admins:
        raise CliError(
            f"--staff --as {who!r}: no active staff account has that Telegram id; "
            "add one with `retailbot staff add TELEGRAM_ID --role agent`"
        )
    print("You are at the staff desk: /desk lists the staff commands.")
    await TerminalChat(app.conversation, phone="", language=lang, staff_id=who).run()
    return 0


async def _resolve_identity(app: App, who: str) -> str:
    async with app.uow_factory() as uow:
        member = await uow.members.get_by_member_no(who)
        if member is not None:
            if not member.phone:
                raise CliError(f"member {who} has no phone number to chat with")
            return member.phone
    try:
        return normalize_phone(who, app.policy.default_region)
    except InvalidPhone as exc:
        raise CliError(f"--as {who!r} is neither a member number nor a valid phone") from exc


async def _chat(app: App, phone: str, lang: str) -> int:
    from bot.terminal import TerminalChat

    await TerminalChat(app.conversation, phone, language=lang).run()
    return 0


# --- run ---------------------------------------------------------------------------------

NO_TOKEN = (
    "BOT_TOKEN is not set. Create a bot with @BotFather in Telegram (/newbot), then run "
    "`BOT_TOKEN=123456:ABC... retailbot run`. To try retailbot without Telegram, run "
    "`retailbot demo`."
)


def cmd_run(args: argparse.Namespace) -> int:
    """Serve Telegram: long polling, or a webhook when WEBHOOK_URL is set."""
    settings = _settings(args)
    if not settings.bot_token:
        raise CliError(NO_TOKEN)
    if settings.webhook_url:
        from bot.telegram.webhook import check_webhook_settings

        check_webhook_settings(settings)  # a ConfigError says what is wrong

    async def work(app: App) -> int:
        # The scheduler and the sender run beside the adapter (in this process only while it
        # leads, see storage.jobs.scheduling), and stop after it.
        messenger = build_messenger(app.settings)
        await messenger.start()
        try:
            async with build_delivery(app, build_sender(app, messenger)):
                await _serve(app)
        finally:
            await messenger.close()
        return 0

    return asyncio.run(_with_app(args, work))


async def _serve(app: App) -> None:
    settings = app.settings
    if settings.webhook_url:
        from bot.telegram.webhook import run_webhook

        await run_webhook(app)
    elif settings.bot_engine == "ptb":
        from bot.telegram.ptb import run_polling

        await run_polling(app)
    else:
        from bot.telegram.aiogram import run_polling as run_aiogram

        await run_aiogram(app)


# --- jobs --------------------------------------------------------------------------------


def cmd_jobs_list(args: argparse.Namespace) -> int:
    """Every job with its schedule, next run, and last run and result."""
    from scheduler.registry import job_specs, next_fire
    from storage.jobs.scheduling import stored_next_runs

    async def work(app: App) -> int:
        stored = await stored_next_runs(app.engine)
        async with app.uow_factory() as uow:
            runs = await uow.jobs.runs()
        now = app.clock.now()
        tz = ZoneInfo(app.policy.timezone)
        for spec in job_specs(app.policy):
            if spec.name in stored:
                upcoming = _when(stored[spec.name], tz) if stored[spec.name] else "paused"
            elif spec.trigger is None:
                upcoming = "continuous (with `retailbot run`)"
            else:
                upcoming = f"{_when(next_fire(spec, now), tz)} (once `retailbot run` starts)"
            print(f"{spec.name}\n  what: {spec.description}\n  next run: {upcoming}")
            run = runs.get(spec.name)
            if run is None:
                print("  last run: never")
                continue
            state = "running" if run.ok is None else ("ok" if run.ok else "FAILED")
            print(
                f"  last run: {_when(run.started_at, tz)} -> {state} "
                f"({run.runs} run(s) so far)\n  result: {run.result or '-'}"
            )
        return 0

    return asyncio.run(_with_app(args, work))


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %z") if moment else "-"


def cmd_jobs_run(args: argparse.Namespace) -> int:
    """Run one job now, in this process, and print its result."""
    from scheduler.registry import install, spec_named

    async def work(app: App) -> int:
        try:
            spec = spec_named(app.policy, args.name)
        except LookupError as exc:
            raise CliError(str(exc)) from exc
        messenger = None
        sender = None
        if args.name == "outbox-sender":
            try:
                messenger = build_messenger(app.settings)
            except ConfigError as exc:
                raise CliError(str(exc)) from exc
            await messenger.start()
            sender = build_sender(app, messenger)
        install(job_context(app, sender))
        try:
            result = await spec.func()
        except Exception as exc:  # recorded in job_runs by the job itself; one line here
            raise CliError(f"{spec.name} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            install(None)
            if messenger is not None:
                await messenger.close()
        print(f"{spec.name}: {result}")
        return 0

    return asyncio.run(_with_app(args, work))


# --- staff -------------------------------------------------------------------------------


def cmd_store_add(args: argparse.Namespace) -> int:
    """Add a store (imports name stores by code), or rename it / change its time zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

    return asyncio.run(_with_app(args, work))


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

    return asyncio.run(_with_app(args, work))


def cmd_staff_add(args: argparse.Namespace) -> int:
    """Add a staff account (or change its role, name or store)."""
    from domain.staff.model import StaffMember, parse_role

    telegram_id = args.telegram_id.strip()
    if not telegram_id.isdigit():
        raise CliError(f"TELEGRAM_ID must be a Telegram user id (digits), not {telegram_id!r}")
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

    return asyncio.run(_with_app(args, work))


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

    return asyncio.run(_with_app(args, work))


# --- audit -------------------------------------------------------------------------------


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
        who = args.staff.strip()
        if not who.isdigit():
            raise CliError(f"--staff must be a Telegram user id (digits), not {who!r}")
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

    return asyncio.run(_with_app(args, work))


# --- coupons -----------------------------------------------------------------------------


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

    return asyncio.run(_with_app(args, work))


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

    return asyncio.run(_with_app(args, work))


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
                f"  redeemed: {_when(coupon.redeemed_at, ZoneInfo(tz))} at "
                f"{coupon.redeemed_store} by {coupon.redeemed_by}"
            )
        return 0

    return asyncio.run(_with_app(args, work))


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


# --- import ------------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    """Import members or transactions from a CSV file; bad rows are reported by line."""
    from bot.cli.imports import import_file

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path} does not exist or is not a file")

    async def work(app: App) -> int:
        summary = await import_file(
            app, args.what, path, strict=args.strict, progress=not args.quiet
        )
        print(summary.report())
        return 1 if summary.failed else 0

    return asyncio.run(_with_app(args, work))


# --- surveys -----------------------------------------------------------------------------


def cmd_surveys_invite(args: argparse.Namespace) -> int:
    """Invite a tier, a store's members or a file's members to a survey."""
    from bot.cli.surveys import SurveyCliError, invite

    async def work(app: App) -> int:
        try:
            print(await invite(app, args))
        except (SurveyCliError, LookupError, ValueError) as exc:
            raise CliError(str(exc)) from exc
        return 0

    return asyncio.run(_with_app(args, work))


def cmd_report_surveys(args: argparse.Namespace) -> int:
    """CSAT, NPS and response rate by store and month; the charts as PNG with --png."""
    from bot.cli.surveys import SurveyCliError, report

    async def work(app: App) -> int:
        try:
            print(await report(app, args))
        except SurveyCliError as exc:
            raise CliError(str(exc)) from exc
        return 0

    return asyncio.run(_with_app(args, work))


# --- the parser --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retailbot",
        description="A messenger assistant for retail chains: loyalty, coupons, tickets.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database", help="SQLAlchemy URL (default: DATABASE_URL or retailbot.db)")
        p.add_argument(
            "--config", help="policy file (default: RETAILBOT_CONFIG or retailbot.toml)"
        )

    p = sub.add_parser("init", help="create or migrate the database, write retailbot.toml")
    common(p)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", help="seed a demo chain and open the terminal chat")
    common(p)
    p.add_argument("--members", type=int, default=500, help="how many demo members (500)")
    p.add_argument("--seed", type=int, default=42, help="random seed: same seed, same data")
    p.add_argument("--reseed", action="store_true", help="seed even if members exist")
    p.add_argument("--no-chat", action="store_true", help="only seed, do not open the chat")
    p.add_argument("--as", dest="as_", metavar="PHONE", help="chat as this phone")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="your chat language")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("chat", help="terminal chat as a member (reads standard input)")
    common(p)
    p.add_argument(
        "--as",
        dest="as_",
        metavar="PHONE|MEMBER_NO",
        required=True,
        help="the member's phone or member number (an unknown phone can join)",
    )
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="your chat language")
    p.add_argument("--staff", action="store_true",
                   help="chat as the staff account whose Telegram id --as gives")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("run", help="serve Telegram (needs BOT_TOKEN)")
    common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("jobs", help="list the scheduled jobs, or run one now")
    jobs = p.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    q = jobs.add_parser("list", help="every job with its next and last run and result")
    common(q)
    q.set_defaults(func=cmd_jobs_list)
    q = jobs.add_parser("run", help="run one job now (birthday-coupons, coupon-expiry...)")
    common(q)
    q.add_argument("name", help="the job's name, as `jobs list` shows it")
    q.set_defaults(func=cmd_jobs_run)

    p = sub.add_parser("store", help="the chain's stores (imports refer to them by code)")
    store = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    q = store.add_parser("add", help="add a store, or update its name and time zone")
    common(q)
    q.add_argument("code", metavar="CODE", help="the store code used in CSV files (SH01)")
    q.add_argument("name", metavar="NAME", help="the store's name as members know it")
    q.add_argument("--timezone", default="Asia/Shanghai", help="IANA time zone (Asia/Shanghai)")
    q.set_defaults(func=cmd_store_add)
    q = store.add_parser("list", help="every store")
    common(q)
    q.set_defaults(func=cmd_store_list)

    p = sub.add_parser("staff", help="staff accounts (the ticket desk, /redeem in Telegram)")
    staff = p.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    q = staff.add_parser("add", help="add a staff account or change its role")
    common(q)
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
    common(q)
    q.set_defaults(func=cmd_staff_list)

    p = sub.add_parser("audit", help="who did what to which ticket or member, and when")
    common(p)
    p.add_argument("--ticket", help="only this ticket (42 or T-000042)")
    p.add_argument("--staff", metavar="ID", help="only this staff member's Telegram user id")
    p.add_argument("--since", metavar="DATE", help="from this local day on (YYYY-MM-DD)")
    p.add_argument("--limit", type=int, default=500, help="at most this many, the latest (500)")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("coupon", help="redeem, issue or look up a coupon")
    coupon = p.add_subparsers(dest="coupon_command", metavar="ACTION", required=True)
    q = coupon.add_parser("redeem", help="redeem a coupon at a store")
    common(q)
    q.add_argument("code", metavar="CODE", help="the coupon code (with or without the dash)")
    q.add_argument("--store", required=True, help="the code of the store redeeming it")
    q.add_argument("--member", help="refuse unless the coupon belongs to this member number")
    q.add_argument("--spend", help="the purchase amount, checked against the minimum spend")
    q.add_argument("--by", help="who redeems it, for the record (a till or staff id)")
    q.set_defaults(func=cmd_coupon_redeem)
    q = coupon.add_parser("issue", help="give a member a coupon from a template")
    common(q)
    q.add_argument("--member", required=True, help="the member number")
    q.add_argument("--template", required=True, help="a key of [coupons.templates]")
    q.add_argument("--source", help="e.g. campaign:12; one coupon per member and source")
    q.set_defaults(func=cmd_coupon_issue)
    q = coupon.add_parser("show", help="a coupon's owner, terms and status")
    common(q)
    q.add_argument("code", metavar="CODE")
    q.set_defaults(func=cmd_coupon_show)

    p = sub.add_parser("import", help="import members or transactions from CSV")
    common(p)
    p.add_argument("what", choices=("members", "transactions"))
    p.add_argument("file", help="the CSV file (UTF-8, with or without BOM)")
    p.add_argument("--strict", action="store_true", help="reject the whole file on any bad row")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import)

    from bot.cli.surveys import add_survey_commands

    add_survey_commands(sub, common, cmd_surveys_invite, cmd_report_surveys)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "run":
        logging.getLogger().setLevel(logging.INFO)
    try:
        return int(args.func(args))
    except (CliError, ConfigError, DomainError) as exc:
        print(f"retailbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

