"""Two registrations of one person become one member, from the command line and from the
staff's Telegram; the admins' privacy commands are audited; imports still find a merged
number; the consent given in a members file is logged as "import"."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import App, build_app
from bot.cli.imports import import_file
from bot.cli.main import main
from bot.config import Settings
from domain.members.model import Member
from domain.privacy.model import ConsentSource, Purpose
from domain.privacy.services import MergeRefused, merge_members, set_consent
from domain.staff.model import Role, StaffMember
from storage.members.tables import members
from tests.support.cli import clean_cli_environment
from tests.support.conversation import button, press, say
from tests.support.imports import THREE_MEMBERS, add_stores, members_file, transactions_file

SHANGHAI_TIME = "2026-06-14 10:00"


async def _seed(url: str, tmp_path: Path) -> None:
    """Li Lei twice: 100001 from the card programme (consent yes) and 200001 from the chat,
    with another phone and a typo in the name (no consent); 200001 has bought something."""
    app = await build_app(Settings(database_url=url))
    try:
        await add_stores(app)
        await import_file(app, "members", members_file(
            tmp_path, *THREE_MEMBERS,
            "200001,Li Lie,13800999000,1990-05-17,SH01,2025-06-01,no",
        ), strict=False, progress=False)
        await import_file(app, "transactions", transactions_file(
            tmp_path,
            f"R-1,SH01,200001,,{SHANGHAI_TIME},150.00,CNY,",
            f"R-2,SH01,100001,,{SHANGHAI_TIME},50.00,CNY,",
        ), strict=False, progress=False)
        async with app.uow_factory() as uow:
            dropped = await uow.members.get_by_member_no("200001")
            assert dropped is not None and dropped.id is not None
            await set_consent(uow, app.policy, dropped.id, Purpose.CALLS, False, app.clock.now())
            await uow.commit()
    finally:
        await app.close()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    """The seeded database, on SQLite and on PostgreSQL."""
    clean_cli_environment(tmp_path, monkeypatch)
    asyncio.run(_seed(database_url, tmp_path))
    return database_url


def test_duplicates_are_listed_with_their_evidence_and_score(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["members", "duplicates", "--json", "--database", database]) == 0
    (pair,) = json.loads(capsys.readouterr().out)
    assert (pair["first"], pair["second"]) == ("100001", "200001")
    assert pair["evidence"][0].startswith("close names") and pair["score"] >= 60
    assert main(["members", "duplicates", "--min-score", "95", "--database", database]) == 0
    assert "no likely duplicates" in capsys.readouterr().out
    assert main(["members", "duplicates", "--min-score", "101", "--database", database]) == 2


def test_a_merge_moves_everything_keeps_an_alias_and_is_refused_twice(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["member", "merge", "100001", "200001", "--database", database]
    assert main([*args, "--dry-run"]) == 0
    assert "would merge 200001" in capsys.readouterr().out
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "merged 200001" in out and "balance 200 points" in out

    assert main(args) == 2
    assert "merged already" in capsys.readouterr().err
    assert main(["member", "merge", "100001", "100001", "--database", database]) == 2
    assert "into themselves" in capsys.readouterr().err

    async def check() -> None:
        app = await build_app(Settings(database_url=database))
        try:
            async with app.uow_factory() as uow:
                kept = await uow.members.get_by_member_no("100001")
                assert kept is not None and kept.id is not None
                assert await uow.members.get_by_member_no("200001") is None
                assert await uow.ledger.balance(kept.id) == 200
                assert not kept.marketing_consent  # one side said no: no marketing
                assert await uow.consents.allowed([kept.id], Purpose.CALLS) == set()
                recorded = await uow.consents.recorded(kept.id)
                assert recorded[Purpose.MARKETING].source is ConsentSource.MERGE
            # A nightly file still says 200001: the receipt books on the kept member.
            await import_file(app, "transactions", transactions_file(
                tmp_path, f"R-3,SH01,200001,,{SHANGHAI_TIME},10.00,CNY,", name="late.csv"
            ), strict=False, progress=False)
            async with app.uow_factory() as uow:
                assert await uow.ledger.balance(kept.id) == 210
        finally:
            await app.close()

    asyncio.run(check())
    assert main(["audit", "--database", database]) == 0
    assert "member.merge" in capsys.readouterr().out


def test_show_export_and_erase_are_audited_and_erase_needs_confirmation(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["member", "show", "100001", "--database", database]) == 0
    shown = capsys.readouterr().out
    assert "Li Lei" in shown and "marketing  yes  import" in shown
    out = tmp_path / "export.json"
    assert main(["member", "export", "100001", "--out", str(out), "--database", database]) == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["tables"]["members"][0]["phone"] == "+8613800138000"
    assert exported["tables"]["receipts"][0]["receipt_no"] == "R-2"

    assert main(["member", "erase", "100001", "--database", database]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["member", "erase", "100001", "--yes", "--database", database]) == 0
    assert main(["member", "erase", "999999", "--yes", "--database", database]) == 2
    assert main(["member", "show", "100001", "--by", "12x", "--database", database]) == 2
    capsys.readouterr()

    assert main(["audit", "--database", database]) == 0
    audit = capsys.readouterr().out
    for action in ("member.view", "member.export", "member.erase"):
        assert action in audit
    assert "Li Lei" not in audit and "13800138000" not in audit

    async def erased_row() -> tuple[str, str | None]:
        app = await build_app(Settings(database_url=database))
        try:
            async with app.engine.connect() as conn:
                row = (await conn.execute(
                    select(members.c.name, members.c.phone).where(members.c.member_no == "100001")
                )).one()
        finally:
            await app.close()
        return row.name, row.phone

    assert asyncio.run(erased_row()) == ("[erased member]", None)


async def test_a_manager_merges_from_telegram_after_a_preview(any_app: App) -> None:
    app = any_app
    await add_stores(app)
    async with app.uow_factory() as uow:
        await uow.staff.save(StaffMember("9001", Role.MANAGER, display_name="Ms Wu"))
        await uow.staff.save(StaffMember("9002", Role.AGENT, display_name="Mr Ma"))
        await uow.commit()
    async with app.uow_factory() as uow:
        now = app.clock.now()
        await uow.members.add(Member("300001", "王芳", "+8613700000001", now))
        await uow.members.add(Member("300002", "王芳", "+8613700000002", now))
        await uow.commit()

    refused = await say(app, "/merge 300001 300002", user=9002)
    assert refused[0].key == "merge.not_allowed"
    preview = await say(app, "/merge 300001 300002", user=9001)
    assert preview[0].key == "merge.preview"
    done = await press(app, button(preview, "pm:"), user=9001)
    assert done[0].key == "merge.done"
    again = await press(app, button(preview, "pm:"), user=9001)
    assert again[0].key == "merge.refused"
    stranger = await say(app, "/merge 300001 300002", user=7777)
    assert stranger[0].key == "command.unknown"
    async with app.uow_factory() as uow:
        with pytest.raises(MergeRefused, match="merged already"):
            await merge_members(uow, "300001", "300002", app.clock.now(), actor="test")


async def test_a_merge_refused_in_a_chinese_chat_is_all_chinese(any_app: App) -> None:
    """The reason of a refusal came from the domain error in English (未合并：there is no member
    ...); each reason is now a message of the catalogue, in the chat's language."""
    app = any_app
    await add_stores(app)
    async with app.uow_factory() as uow:
        await uow.staff.save(StaffMember("9001", Role.MANAGER, display_name="Ms Wu"))
        now = app.clock.now()
        await uow.members.add(Member("300001", "王芳", "+8613700000001", now))
        await uow.members.add(Member("300002", "王芳", "+8613700000002", now))
        await uow.commit()
    preview = await say(app, "/merge 300001 300002", user=9001, lang="zh")
    done = await press(app, button(preview, "pm:"), user=9001, lang="zh")
    assert done[0].key == "merge.done"

    refusals = [
        await say(app, "/merge 300001 300001", user=9001, lang="zh"),  # into themselves
        await say(app, "/merge 300001 399999", user=9001, lang="zh"),  # no such member
        await say(app, "/merge 399999 300001", user=9001, lang="zh"),
        await say(app, "/merge 300001 300002", user=9001, lang="zh"),  # an alias now
        await say(app, "/merge 300002 300001", user=9001, lang="zh"),
        await press(app, button(preview, "pm:"), user=9001, lang="zh"),  # gone already
    ]
    for (refused,) in refusals:
        assert refused.key.startswith("merge.refused"), refused.key
        assert refused.text.startswith("未合并："), refused.text
        assert not re.search("[A-Za-z]", refused.text), refused.text
    english = await say(app, "/merge 300001 399999", user=9001, lang="en")
    assert english[0].text == "Not merged: there is no member 399999"
