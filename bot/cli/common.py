"""What every `retailbot` command shares: its one error type, the common options, the app."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from bot.bootstrap import App, build_app
from bot.config import Settings

# What a feature module's `add_..._commands` receives: the sub-commands of `retailbot`.
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """A one-line reason shown to the operator; the command exits with status 2."""


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """--database and --config, which every command that opens the database takes."""
    parser.add_argument(
        "--database", help="SQLAlchemy URL (default: DATABASE_URL or retailbot.db)"
    )
    parser.add_argument(
        "--config", help="policy file (default: RETAILBOT_CONFIG or retailbot.toml)"
    )


def settings_for(args: argparse.Namespace) -> Settings:
    """The environment's settings, with --database and --config when they were given."""
    settings = Settings.from_env()
    overrides: dict[str, Any] = {}
    if getattr(args, "database", None):
        overrides["database_url"] = args.database
    if getattr(args, "config", None):
        overrides["config_path"] = Path(args.config)
    if overrides:
        settings = replace(settings, **overrides)
    return settings


async def with_app(args: argparse.Namespace, work: Callable[[App], Awaitable[int]]) -> int:
    """Build the app for these options, run `work` with it and close it whatever happens."""
    app = await build_app(settings_for(args))
    try:
        return await work(app)
    finally:
        await app.close()


def run_with_app(args: argparse.Namespace, work: Callable[[App], Awaitable[int]]) -> int:
    """`with_app` on a new event loop: the body of most commands."""
    return asyncio.run(with_app(args, work))


def local_time(moment: datetime | None, tz: ZoneInfo) -> str:
    """A moment as the operator reads it, in the chain's time zone ("-" for none)."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %z") if moment else "-"


def run_and_print(
    args: argparse.Namespace, produce: Callable[[App, argparse.Namespace], Awaitable[str]]
) -> int:
    """Run `produce` with the app and print the text it returns: the body of the commands
    whose whole work is one report or summary."""

    async def work(app: App) -> int:
        print(await produce(app, args))
        return 0

    return run_with_app(args, work)


def telegram_user_id(text: str, option: str) -> str:
    """A Telegram user id as given (ASCII digits: "²" and "①" are refused, which
    `str.isdigit` lets through); a one-line reason naming `option` otherwise."""
    if not (text.isascii() and text.isdecimal()):
        raise CliError(f"{option} must be a Telegram user id (digits), not {text!r}")
    return text


def parse_day(raw: str, option: str) -> date:
    """A YYYY-MM-DD option as a date; a one-line reason naming `option` otherwise."""
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise CliError(f"{option} must be a date such as 2026-06-30, not {raw!r}") from exc


def report_period(
    args: argparse.Namespace, last: date, first: Callable[[date], date]
) -> tuple[date, date]:
    """The local days a report covers: --from and --to, else `first` of the last day and
    `last` (each report has its own default period)."""
    day_to = parse_day(args.to, "--to") if args.to else last
    day_from = parse_day(args.from_, "--from") if args.from_ else first(day_to)
    if day_to < day_from:
        raise CliError(f"--to {day_to} is before --from {day_from}")
    return day_from, day_to


def add_report_options(parser: argparse.ArgumentParser, png_help: str) -> None:
    """What every `report ...` takes: the common options, the period, a store, --png."""
    add_common_options(parser)
    parser.add_argument("--from", dest="from_", metavar="YYYY-MM-DD", help="first local day")
    parser.add_argument("--to", metavar="YYYY-MM-DD", help="last local day (inclusive)")
    parser.add_argument("--store", metavar="CODE", help="only this store")
    parser.add_argument("--png", metavar="DIR", help=png_help)
