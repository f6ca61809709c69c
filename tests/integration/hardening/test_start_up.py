"""Configuration mistakes at start-up: one clear line, a non-zero exit, nothing touched."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.bootstrap import build_app
from bot.config import ConfigError, Settings, check_token
from tests.support.paths import ROOT

GOOD_TOKEN = "123456789:AAE-retailbot-startup-test-token"
UNREACHABLE_API = "http://127.0.0.1:9"  # the discard port: nothing listens there


def _run(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("BOT_", "WEBHOOK_", "TELEGRAM_", "LOG_", "DATABASE_"))}
    clean.update({"PYTHONPATH": str(ROOT),
                  "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/shop.db",
                  "TELEGRAM_API_URL": UNREACHABLE_API, **env})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], capture_output=True, text=True, timeout=60,
        env=clean, cwd=tmp_path,
    )


def _one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "token", ["5550123", "hello", "'5550123:AAE-retailbot-startup-test-token'",
              "5550123:short", "5550123:AAE retailbot startup test token"]
)
def test_a_malformed_bot_token_is_one_line_that_never_repeats_it(
    tmp_path: Path, token: str
) -> None:
    line = _one_line_refusal(_run({"BOT_TOKEN": token}, tmp_path))
    assert "BOT_TOKEN" in line and token not in line
    assert not (tmp_path / "shop.db").exists()  # refused before the database was touched


def test_an_unreachable_bot_api_at_start_is_one_line_without_the_token(tmp_path: Path) -> None:
    line = _one_line_refusal(_run({"BOT_TOKEN": GOOD_TOKEN, "LOG_LEVEL": "WARNING"}, tmp_path))
    assert "cannot reach the Bot API" in line and GOOD_TOKEN not in line


def test_a_listen_port_in_use_is_one_line_before_migrations(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run({"BOT_TOKEN": GOOD_TOKEN, "WEBHOOK_URL": "https://shop.example/hook",
                       "WEBHOOK_SECRET": "s3cret_value", "WEBHOOK_LISTEN": f"127.0.0.1:{port}"},
                      tmp_path)
    assert "already in use" in _one_line_refusal(result)
    assert not (tmp_path / "shop.db").exists()


def test_a_bad_webhook_listen_is_reported_before_migrations_run(tmp_path: Path) -> None:
    result = _run({"BOT_TOKEN": GOOD_TOKEN, "WEBHOOK_URL": "https://shop.example/hook",
                   "WEBHOOK_SECRET": "s3cret_value", "WEBHOOK_LISTEN": "localhost:http"},
                  tmp_path)
    assert "WEBHOOK_LISTEN" in _one_line_refusal(result)
    assert not (tmp_path / "shop.db").exists()


def test_a_webhook_secret_without_a_webhook_url_refuses_to_start_rather_than_poll(
    tmp_path: Path,
) -> None:
    result = _run({"BOT_TOKEN": GOOD_TOKEN, "WEBHOOK_SECRET": "s3cret_value"}, tmp_path)
    assert "WEBHOOK_URL" in _one_line_refusal(result)
    assert not (tmp_path / "shop.db").exists()


def test_an_invalid_log_level_is_refused_and_a_valid_one_is_honoured(tmp_path: Path) -> None:
    assert "LOG_LEVEL" in _one_line_refusal(
        _run({"BOT_TOKEN": GOOD_TOKEN, "LOG_LEVEL": "LOUD"}, tmp_path)
    )
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        Settings.from_env({"LOG_LEVEL": "verbose"}, dotenv=False)
    assert Settings.from_env({"LOG_LEVEL": "warning"}, dotenv=False).log_level == "WARNING"
    # WARNING hides the INFO lines `run` prints at start: only the refusal is left.
    result = _run({"BOT_TOKEN": GOOD_TOKEN, "LOG_LEVEL": "WARNING"}, tmp_path)
    assert " INFO " not in result.stderr


def test_token_shapes_botfather_issues_are_accepted() -> None:
    assert check_token(GOOD_TOKEN) == GOOD_TOKEN
    assert check_token("7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw") is not None


async def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "members.db"
    app = await build_app(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    await app.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_leader_lock_file_is_ignored_by_version_control() -> None:
    assert "*.leader.lock" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
