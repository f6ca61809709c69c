"""The command line assembled from one module per feature keeps the commands the README names,
and every command fails with the one CliError."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli.common import CliError, parse_day
from bot.cli.main import build_parser
from bot.cli.surveys import read_member_numbers

COMMANDS = {
    "init": None,
    "demo": None,
    "chat": None,
    "run": None,
    "jobs": ["list", "run"],
    "store": ["add", "list"],
    "staff": ["add", "list"],
    "audit": None,
    "coupon": ["redeem", "issue", "show"],
    "import": None,
    "surveys": ["invite"],
    "report": ["surveys", "callbacks"],
    "callbacks": ["export", "record"],
    "segments": ["refresh", "show", "export"],
    "campaign": ["create", "list", "show", "preview", "start", "pause", "resume", "report"],
    "member": ["show", "export", "erase", "merge"],
    "members": ["duplicates"],
    "keys": ["new", "rotate"],
}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_the_commands_keep_their_names_and_order() -> None:
    commands = _subcommands(build_parser())
    assert list(commands) == list(COMMANDS)
    for name, actions in COMMANDS.items():
        assert list(_subcommands(commands[name])) == (actions or [])


def test_every_command_takes_the_database_and_the_policy_file() -> None:
    for name, command in _subcommands(build_parser()).items():
        for leaf in _subcommands(command).values() or [command]:
            options = {option for action in leaf._actions for option in action.option_strings}
            assert {"--database", "--config"} <= options, name


def test_survey_input_errors_are_the_cli_error(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="does not exist"):
        read_member_numbers(tmp_path / "missing.csv")
    with pytest.raises(CliError, match="--from must be a date"):
        parse_day("June", "--from")
