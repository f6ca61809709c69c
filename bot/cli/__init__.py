"""The `retailbot` command line: one module per feature's commands, `main` puts them together."""

from bot.cli.main import main

__all__ = ["main"]
