"""`retailbot ... | head -3`: a reader that stops early ends the command quietly, with the status
a shell reports for a writer whose reader went away (141), never with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT


def _run_into_a_reader_that_is_gone(
    args: list[str], tmp_path: Path, *, unbuffered: bool
) -> subprocess.CompletedProcess[str]:
    """The command with its output piped to a reader that closed before reading anything: the
    earliest a reader can stop, and the one moment that does not depend on timing."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "RETAILBOT_", "PYTHONUNBUFFERED"))}
    env["PYTHONPATH"] = str(ROOT)
    if unbuffered:  # every print reaches the pipe at once: the failure comes mid-command
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args], stdout=write_end, stderr=subprocess.PIPE,
            text=True, timeout=60, env=env, cwd=tmp_path,
        )
    finally:
        os.close(write_end)


def _quiet(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "BrokenPipeError" not in result.stderr, result.stderr
    assert result.stderr.strip() == "", result.stderr
    assert result.returncode == 141  # 128 + SIGPIPE


def test_help_into_a_reader_that_stopped_ends_quietly(tmp_path: Path) -> None:
    """The text waits in Python's buffer until exit, where the broken pipe used to show as
    "Exception ignored ... BrokenPipeError" and status 120."""
    _quiet(_run_into_a_reader_that_is_gone(["--help"], tmp_path, unbuffered=False))


@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_report_into_a_reader_that_stopped_ends_without_a_traceback(
    tmp_path: Path, unbuffered: bool
) -> None:
    """Mid-command (unbuffered, or any output longer than the buffer) the broken pipe used to
    end the command with a traceback from deep inside asyncio."""
    database = f"sqlite+aiosqlite:///{tmp_path}/shop.db"
    result = _run_into_a_reader_that_is_gone(
        ["jobs", "list", "--database", database], tmp_path, unbuffered=unbuffered
    )
    _quiet(result)


def test_a_reader_that_reads_everything_still_gets_everything(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True,
        timeout=60, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: retailbot")
