"""The `retailbot` command line: init, demo, chat, run, import... each with --help."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.bootstrap import App, build_app
from bot.config import ConfigError, Settings
from domain.errors import DomainError, InvalidPhone
from domain.phones import normalize_phone

TEMPLATE = Path(__file__).parent / "templates" / "retailbot.toml"
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
        phone = await _resolve_identity(app, args.as_)
        return await _chat(app, phone, args.lang)

    return asyncio.run(_with_app(args, work))


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
        from bot.webhook import check_webhook_settings

        check_webhook_settings(settings)  # a ConfigError says what is wrong

    async def work(app: App) -> int:
        if settings.webhook_url:
            from bot.webhook import run_webhook

            await run_webhook(app)
        elif settings.bot_engine == "ptb":
            from bot.telegram_ptb import run_polling

            await run_polling(app)
        else:
            from bot.telegram_aiogram import run_polling as run_aiogram

            await run_aiogram(app)
        return 0

    return asyncio.run(_with_app(args, work))


# --- import ------------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    """Import members or transactions from a CSV file; bad rows are reported by line."""
    from bot.importer import import_file

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
    p.add_argument("--staff", action="store_true", help="chat as a staff member")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("run", help="serve Telegram (needs BOT_TOKEN)")
    common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("import", help="import members or transactions from CSV")
    common(p)
    p.add_argument("what", choices=("members", "transactions"))
    p.add_argument("file", help="the CSV file (UTF-8, with or without BOM)")
    p.add_argument("--strict", action="store_true", help="reject the whole file on any bad row")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import)
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


if __name__ == "__main__":
    sys.exit(main())
