"""The `retailbot` command line: init, demo, chat, run, import, jobs, staff, audit... --help.

Each feature's commands live in their own module (bot.cli.app, stores, staff, coupons...),
which adds its sub-commands to the parser built here; `main` runs the one chosen and turns the
errors an operator can act on into a one-line reason and exit status 2.

Output piped into a reader that stops early (`retailbot segments show | head -3`) ends the
command quietly with status 141, the 128 + SIGPIPE a shell reports for any tool whose reader went
away (`seq 1000000 | head -1`): scripts that tell "the reader had enough" from a failure see the
usual figure, and it is neither 2 (the command could not do what it was asked) nor 1.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from bot.cli.app import add_app_commands
from bot.cli.callbacks import add_callback_commands
from bot.cli.campaigns import add_campaign_commands
from bot.cli.common import CliError
from bot.cli.coupons import add_coupon_commands
from bot.cli.imports import add_import_commands
from bot.cli.jobs import add_jobs_commands
from bot.cli.privacy import add_privacy_commands
from bot.cli.segments import add_segment_commands
from bot.cli.staff import add_staff_commands
from bot.cli.stores import add_store_commands
from bot.cli.surveys import add_survey_commands
from bot.cli.tickets import add_ticket_commands
from bot.config import ConfigError
from domain.shared.errors import DomainError

READER_GONE = 141  # 128 + SIGPIPE: the status a shell shows for a writer whose reader left


def build_parser() -> argparse.ArgumentParser:
    """The `retailbot` parser, with every feature's sub-commands."""
    parser = argparse.ArgumentParser(
        prog="retailbot",
        description="A messenger assistant for retail chains: loyalty, coupons, tickets.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # In this order in --help: setting up and serving first, then the features.
    add_app_commands(sub)  # init, demo, chat, run
    add_jobs_commands(sub)
    add_store_commands(sub)
    add_staff_commands(sub)
    add_ticket_commands(sub)  # audit
    add_coupon_commands(sub)
    add_import_commands(sub)
    add_survey_commands(sub)  # surveys, report
    add_callback_commands(sub)  # callbacks export|record, report callbacks (after report)
    add_segment_commands(sub)
    add_campaign_commands(sub)  # campaign create|list|show|preview|start|pause|resume|report
    add_privacy_commands(sub)  # member, members, keys
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (2 with a one-line reason when it could not, 141 when
    the reader of its output went away)."""
    try:
        try:
            return _run(argv)
        finally:
            # What is still buffered goes now, so a reader that left shows here rather than as
            # "Exception ignored ... BrokenPipeError" when Python exits.
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return READER_GONE


def _silence_stdout() -> None:
    """Point standard output at the null device, as Python's documentation advises for
    SIGPIPE: the flush at exit then has nowhere to fail and prints nothing."""
    with contextlib.suppress(OSError, ValueError):  # a stdout with no file: nothing to flush
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _run(argv: Sequence[str] | None) -> int:
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

