"""The terminal chat works in a pipe: the same story as in Telegram, typed on standard input."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.bootstrap import build_app
from bot.config import Settings
from domain.members.model import Member, Store
from tests.support.paths import ROOT


def _retailbot(
    args: list[str], stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    full_env.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        cwd=cwd or ROOT,
    )


def _seed(url: str) -> None:
    async def work() -> None:
        app = await build_app(Settings(database_url=url))
        async with app.uow_factory() as uow:
            store = await uow.stores.add(Store("SH01", "Shanghai", "Asia/Shanghai"))
            await uow.members.add(
                Member(
                    "100001",
                    "Li Lei",
                    "+8613800138000",
                    datetime(2025, 1, 1, tzinfo=UTC),
                    home_store_id=store.id,
                    marketing_consent=True,
                )
            )
            await uow.commit()
        await app.close()

    asyncio.run(work())


def test_terminal_chat_in_a_pipe_links_shows_points_and_stops_marketing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/chat.db"
    _seed(url)
    script = "/start\n0\n/points\n/language\n1\n积分\n/stop\n:quit\n"
    result = _retailbot(["chat", "--as", "100001", "--database", url], stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Share my phone number" in out
    assert "Thank you, Li Lei" in out
    assert "Points: 0" in out
    assert "积分：0" in out  # after switching to Chinese
    assert "已完成" in out  # /stop answered in Chinese
    assert "Traceback" not in result.stderr


def test_chat_as_an_unknown_member_number_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/chat.db"
    result = _retailbot(["chat", "--as", "nobody", "--database", url])
    assert result.returncode == 2
    assert "neither a member number nor a valid phone" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_without_a_token_says_how_to_get_one_and_how_to_try_the_demo(tmp_path: Path) -> None:
    result = _retailbot(
        ["run", "--database", f"sqlite+aiosqlite:///{tmp_path}/x.db"],
        env={"BOT_TOKEN": ""},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "BotFather" in result.stderr and "retailbot demo" in result.stderr


def test_init_writes_a_commented_policy_file_and_migrates(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/init.db"
    result = _retailbot(
        ["init", "--database", url, "--config", str(tmp_path / "retailbot.toml")], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    policy = (tmp_path / "retailbot.toml").read_text(encoding="utf-8")
    assert "[points]" in policy and "# " in policy
    again = _retailbot(
        ["init", "--database", url, "--config", str(tmp_path / "retailbot.toml")], cwd=tmp_path
    )
    assert again.returncode == 0 and "kept the existing" in again.stdout


def test_stores_are_added_listed_and_refused_when_the_time_zone_is_wrong(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/stores.db"
    added = _retailbot(["store", "add", "sh01", "People's Square", "--database", url])
    assert added.returncode == 0, added.stderr
    renamed = _retailbot(
        ["store", "add", "SH01", "Renmin Square", "--timezone", "Asia/Urumqi", "--database", url]
    )
    assert "updated" in renamed.stdout
    listed = _retailbot(["store", "list", "--database", url])
    assert "SH01" in listed.stdout and "Asia/Urumqi" in listed.stdout
    bad = _retailbot(
        ["store", "add", "X1", "Nowhere", "--timezone", "Mars/Base", "--database", url]
    )
    assert bad.returncode == 2 and "time zone" in bad.stderr


def test_a_staff_member_works_the_desk_from_the_terminal(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/desk.db"
    _seed(url)
    refused = _retailbot(["chat", "--staff", "--as", "9001", "--database", url], stdin="/queue\n")
    assert refused.returncode == 2 and "staff add" in refused.stderr
    added = _retailbot(
        ["staff", "add", "9001", "--role", "manager", "--name", "Wang", "--database", url]
    )
    assert added.returncode == 0, added.stderr
    desk = _retailbot(
        ["chat", "--staff", "--as", "9001", "--database", url],
        stdin="/desk\n/queue\n/member Li Lei\n:quit\n",
    )
    assert desk.returncode == 0, desk.stderr
    assert "/queue" in desk.stdout and "100001" in desk.stdout
    assert "I don't know the command" not in desk.stdout


def test_a_members_terminal_chat_is_never_the_staff_desk(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/desk.db"
    _seed(url)
    _retailbot(["staff", "add", "9001", "--role", "admin", "--database", url])
    member = _retailbot(["chat", "--as", "100001", "--database", url], stdin="/queue\n")
    assert "I don't know the command /queue" in member.stdout
