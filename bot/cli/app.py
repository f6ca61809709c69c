"""`retailbot init`, `demo`, `chat` and `run`: setting the shop up, trying it, serving it."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from bot.bootstrap import App, build_delivery, build_messenger, build_sender
from bot.cli.common import CliError, SubParsers, add_common_options, run_with_app, settings_for
from bot.config import check_token
from bot.telegram.preflight import check_bot_api, check_port_free
from domain.shared.errors import InvalidPhone
from domain.shared.phones import normalize_phone

TEMPLATE = Path(__file__).parents[1] / "templates" / "retailbot.toml"
CAMPAIGN_EXAMPLE = Path(__file__).parents[1] / "templates" / "campaign.example.toml"

NO_TOKEN = (
    "BOT_TOKEN is not set. Create a bot with @BotFather in Telegram (/newbot), then run "
    "`BOT_TOKEN=123456:ABC... retailbot run`. To try retailbot without Telegram, run "
    "`retailbot demo`."
)


# --- init --------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """Create or migrate the database and write a commented retailbot.toml if there is none."""
    target = Path(args.config or "retailbot.toml")
    if not target.exists():
        target.write_text(TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
        print(f"wrote {target} (the shop's rules, with comments)")
    else:
        print(f"kept the existing {target}")
    example = target.parent / CAMPAIGN_EXAMPLE.name
    if not example.exists():
        example.write_text(CAMPAIGN_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
        print(f"wrote {example} (a commented example campaign)")

    async def work(app: App) -> int:
        print(f"database ready: {app.engine.url.render_as_string(hide_password=True)}")
        return 0

    return run_with_app(args, work)


# --- demo and chat -----------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Seed a demo chain (unless there are members already) and open the terminal chat."""
    from bot.demo import DEMO_NEW_PHONE, MAX_MEMBERS, seed_demo

    async def work(app: App) -> int:
        async with app.uow_factory() as uow:
            existing = await uow.members.count()
        if existing and not args.reseed:
            print(f"the database already has {existing} members; using them (--reseed to add)")
        else:
            if not 1 <= args.members <= MAX_MEMBERS:  # before anything is written
                raise CliError(f"--members must be 1 to {MAX_MEMBERS:,}, not {args.members}")
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

    return run_with_app(args, work)


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

    return run_with_app(args, work)


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


def cmd_run(args: argparse.Namespace) -> int:
    """Serve Telegram: long polling, or a webhook when WEBHOOK_URL is set."""
    settings = settings_for(args)
    if not settings.bot_token:
        raise CliError(NO_TOKEN)
    check_token(settings.bot_token)
    # LOG_LEVEL is for `run` (other commands are quiet unless -v); it was validated on reading.
    logging.getLogger().setLevel(settings.log_level)
    if settings.webhook_secret and not settings.webhook_url:
        # Polling would call deleteWebhook and tear down the production webhook of the chain's
        # other workers: a worker meant for webhooks that lost its URL must not start at all.
        raise CliError(
            "WEBHOOK_SECRET is set but WEBHOOK_URL is not: refusing to poll (that would delete "
            "the webhook other workers serve); set WEBHOOK_URL, or unset WEBHOOK_SECRET to poll"
        )
    if settings.webhook_url:
        from bot.telegram.webhook import check_webhook_settings, parse_listen

        check_webhook_settings(settings)  # a ConfigError says what is wrong
        # Reported now, before migrations run: an unusable listen address wastes nothing.
        check_port_free(*parse_listen(settings.webhook_listen))
    asyncio.run(check_bot_api(settings))
    if not settings.data_key:
        # Said once, at start: a chain may choose disk encryption instead, but must know.
        logging.getLogger(__name__).warning(
            "members' phones, names and birthdays are stored unencrypted: set "
            "RETAILBOT_DATA_KEY to encrypt them (retailbot keys new, then keys rotate)"
        )

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

    return run_with_app(args, work)


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


# --- the parsers -------------------------------------------------------------------------


def add_app_commands(sub: SubParsers) -> None:
    """`init`, `demo`, `chat` and `run`, on the main parser."""
    p = sub.add_parser("init", help="create or migrate the database, write retailbot.toml")
    add_common_options(p)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", help="seed a demo chain and open the terminal chat")
    add_common_options(p)
    p.add_argument("--members", type=int, default=500, help="how many demo members (500)")
    p.add_argument("--seed", type=int, default=42, help="random seed: same seed, same data")
    p.add_argument("--reseed", action="store_true", help="seed even if members exist")
    p.add_argument("--no-chat", action="store_true", help="only seed, do not open the chat")
    p.add_argument("--as", dest="as_", metavar="PHONE", help="chat as this phone")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="your chat language")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("chat", help="terminal chat as a member (reads standard input)")
    add_common_options(p)
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
    add_common_options(p)
    p.set_defaults(func=cmd_run)
