"""Campaigns in the chat and on the command line: a manager previews and starts one with
buttons, an agent and a member get the unknown-command answer; the offer's buttons; the
`retailbot campaign` commands and their one-line errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import App, build_app
from bot.cli.main import main
from bot.config import Settings
from domain.privacy.model import ConsentSource, Purpose
from domain.staff.model import Role, StaffMember
from storage.members.tables import members
from storage.messaging.tables import outbox
from storage.tickets.tables import audit_log
from tests.support.campaigns import campaign_toml, new_campaign, recipients, start_and_send
from tests.support.cli import clean_cli_environment, seeded_database
from tests.support.conversation import MEMBER, button, press, say
from tests.support.coupons import add_member, seed_stores

MANAGER = 6101
AGENT = 6001


async def _staff(app: App) -> None:
    async with app.uow_factory() as uow:
        await uow.staff.save(StaffMember(str(MANAGER), Role.MANAGER, "Chen"))
        await uow.staff.save(StaffMember(str(AGENT), Role.AGENT, "Wang"))
        await uow.commit()


async def test_a_manager_previews_and_starts_a_campaign_with_buttons(app: App) -> None:
    shop = await seed_stores(app)
    await add_member(app, "1", store=shop.shanghai, chat=MEMBER, consent=True)
    await _staff(app)
    campaign = await new_campaign(app, campaign_toml(extra="control_share = 0"))
    (listed,) = await say(app, "/campaigns", user=MANAGER)
    assert "Come back" in listed.text and "draft" in listed.text
    (preview,) = await press(app, button([listed], "cmp:v:"), user=MANAGER)
    assert "will get it: 1" in preview.text
    assert "Hi Member 1" in preview.text and "Member 1，您的优惠码" in preview.text
    (started,) = await press(app, button([preview], "cmp:s:"), user=MANAGER)
    assert started.key == "campaigns.now_running"
    async with app.uow_factory() as uow:
        found = await uow.campaigns.get(campaign.id or 0)
    assert found is not None and found.status.value == "running"
    async with app.engine.connect() as conn:
        actions = list(await conn.scalars(select(audit_log.c.action).order_by(audit_log.c.id)))
        actor = await conn.scalar(
            select(audit_log.c.actor).where(audit_log.c.action == "campaign.start")
        )
    assert actions[-1] == "campaign.start" and actor == f"staff:{MANAGER}"
    (again,) = await press(app, f"cmp:s:{campaign.id}", user=MANAGER)
    assert again.key == "campaigns.not_draft"  # a friendly answer, nothing changed
    (report,) = await press(app, f"cmp:rep:{campaign.id}", user=MANAGER)
    assert "No uplift yet" in report.text


async def test_agents_and_members_get_the_unknown_command_answer(app: App) -> None:
    shop = await seed_stores(app)
    await add_member(app, "1", store=shop.shanghai, chat=MEMBER, consent=True)
    await _staff(app)
    campaign = await new_campaign(app, campaign_toml())
    for user in (AGENT, MEMBER):
        (answer,) = await say(app, "/campaigns", user=user)
        assert answer.key == "command.unknown"
        (pressed,) = await press(app, f"cmp:s:{campaign.id}", user=user)
        assert pressed.key == "command.unknown"
    async with app.uow_factory() as uow:
        found = await uow.campaigns.get(campaign.id or 0)
    assert found is not None and found.status.value == "draft"


async def test_not_interested_is_counted_and_stop_offers_withdraws_consent(app: App) -> None:
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=MEMBER, consent=True)
    campaign = await new_campaign(app, campaign_toml(extra="control_share = 0"))
    await start_and_send(app, campaign)
    (thanks,) = await press(app, f"cni:{campaign.id}")
    assert thanks.key == "campaigns.not_interested_done"
    (row,) = await recipients(app, campaign.id)
    assert row.not_interested_at is not None
    (stopped,) = await press(app, f"cst:{campaign.id}")
    assert stopped.key == "stop.done"
    async with app.engine.connect() as conn:
        consent = await conn.scalar(
            select(members.c.marketing_consent).where(members.c.id == member.id)
        )
    assert consent is False


async def test_the_stop_offers_button_is_logged_as_stop_like_the_command(app: App) -> None:
    """The offer's "Stop offers" does what /stop does, so the consent log says "stop" for both
    (it said "chat", the source of /privacy and /profile)."""
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=MEMBER, consent=True)
    assert member.id is not None
    campaign = await new_campaign(app, campaign_toml(extra="control_share = 0"))
    await start_and_send(app, campaign)
    (stopped,) = await press(app, f"cst:{campaign.id}")
    assert stopped.key == "stop.done"
    async with app.uow_factory() as uow:
        log = await uow.consents.log(member.id)
    assert [(c.purpose, c.granted, c.source) for c in log][-1] == (
        Purpose.MARKETING, False, ConsentSource.STOP
    )


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    async def seed(app: App) -> None:
        shop = await seed_stores(app)
        for n in range(1, 6):
            await add_member(app, str(n), store=shop.shanghai, chat=500 + n, consent=True)

    return seeded_database(tmp_path, monkeypatch, seed)


def test_the_campaign_commands_from_create_to_report(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spring.toml"
    spec.write_text(campaign_toml("Spring", extra="control_share = 0"), encoding="utf-8")
    db = ["--database", database]
    assert main(["campaign", "create", str(spec), *db]) == 0
    assert "created campaign 1 (Spring) as a draft" in capsys.readouterr().out
    assert main(["campaign", "preview", "1", *db]) == 0
    out = capsys.readouterr().out
    assert "will get it                            5" in out and "[zh]" in out
    assert main(["campaign", "show", "1", *db]) == 0
    assert "once at 2026-06-15 10:00" in capsys.readouterr().out
    assert main(["campaign", "start", "1", *db]) == 0
    assert "5 matched: 5 queued" in capsys.readouterr().out
    assert main(["campaign", "list", *db]) == 0
    assert "finished" in capsys.readouterr().out
    assert main(["campaign", "report", "1", "--png", str(tmp_path / "charts"), *db]) == 0
    out = capsys.readouterr().out
    assert "queued 5" in out and "referrals" in out
    assert (tmp_path / "charts" / "campaign_1.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["campaign", "pause", "1", *db]) == 2  # finished: nothing to pause
    assert "only a running one is paused" in capsys.readouterr().err


def test_a_broken_campaign_file_exits_non_zero_with_its_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\n[message\nen = "hi"\n', encoding="utf-8")
    assert main(["campaign", "create", str(broken), "--database", database]) == 2
    assert "line 2" in capsys.readouterr().err
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(campaign_toml(audience='tiers = ["diamond"]'), encoding="utf-8")
    assert main(["campaign", "create", str(wrong), "--database", database]) == 2
    assert "there is no tier 'diamond'" in capsys.readouterr().err
    assert main(["campaign", "start", "9", "--database", database]) == 2
    assert "there is no campaign 9" in capsys.readouterr().err


def test_init_writes_the_commented_example_campaign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_cli_environment(tmp_path, monkeypatch)
    url = f"sqlite+aiosqlite:///{tmp_path}/init.db"
    assert main(["init", "--database", url]) == 0
    example = tmp_path / "campaign.example.toml"
    assert "[schedule]" in example.read_text(encoding="utf-8")
    assert main(["campaign", "create", str(example), "--database", url]) == 0


def test_a_campaign_with_a_photo_sends_it_with_each_offer(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    (tmp_path / "spring.png").write_bytes(picture)
    spec = tmp_path / "photo.toml"
    text = campaign_toml("Photo", extra="control_share = 0").replace(
        "[coupon]", 'photo = "spring.png"\n[coupon]'
    )
    spec.write_text(text, encoding="utf-8")
    db = ["--database", database]
    assert main(["campaign", "create", str(spec), *db]) == 0
    assert main(["campaign", "start", "1", *db]) == 0
    assert "5 queued" in capsys.readouterr().out

    async def photos() -> list[bytes | None]:
        app = await build_app(Settings(database_url=database))
        try:
            async with app.engine.connect() as conn:
                return list(await conn.scalars(select(outbox.c.photo)))
        finally:
            await app.close()

    assert asyncio.run(photos()) == [picture] * 5
    missing = tmp_path / "missing.toml"
    missing.write_text(text.replace("spring.png", "nope.png"), encoding="utf-8")
    assert main(["campaign", "create", str(missing), *db]) == 2
    assert "nope.png does not exist" in capsys.readouterr().err
