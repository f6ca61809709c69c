"""The ticket commands of `retailbot`: the audit trail, the follow-up job, staff accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import App
from bot.cli.main import main
from domain.shared.clock import FixedClock
from tests.support.cli import seeded_database
from tests.support.conversation import say
from tests.support.tickets import AGENT, MANAGER, complain, seed_desk

T0 = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file where a member complained and staff worked the ticket."""
    clock = FixedClock(T0)

    async def seed(app: App) -> None:
        desk = await seed_desk(app)
        await complain(app)
        await say(app, "/ticket 1", user=AGENT)
        await say(app, "/reply 1 We are sorry", user=AGENT)
        clock.set(datetime(2026, 6, 17, 10, 0, tzinfo=UTC))
        await say(app, f"/member {desk.member.member_no}", user=MANAGER)
        await say(app, "/resolve 1", user=MANAGER)

    return seeded_database(tmp_path, monkeypatch, seed, clock=clock)


def test_audit_lists_every_action_and_filters_by_ticket_staff_and_date(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--database", database]) == 0
    everything = capsys.readouterr().out.strip().splitlines()
    actions = [line.split()[3] for line in everything[1:]]
    assert actions == ["ticket.open", "ticket.view", "ticket.reply", "member.search",
                       "member.view", "ticket.resolve"]
    assert "+8613" not in "\n".join(everything)  # no phone numbers in the trail

    assert main(["audit", "--staff", str(MANAGER), "--database", database]) == 0
    manager = capsys.readouterr().out.strip().splitlines()[1:]
    assert [line.split()[3] for line in manager] == ["member.search", "member.view",
                                                    "ticket.resolve"]
    assert main(["audit", "--ticket", "T-000001", "--since", "2026-06-16",
                 "--database", database]) == 0
    late = capsys.readouterr().out.strip().splitlines()[1:]
    assert [line.split()[3] for line in late] == ["ticket.resolve"]


def test_audit_refuses_a_bad_date_or_ticket_with_a_reason(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--since", "yesterday", "--database", database]) == 2
    assert "--since" in capsys.readouterr().err
    assert main(["audit", "--ticket", "abc", "--database", database]) == 2
    assert "--ticket" in capsys.readouterr().err


def test_jobs_run_ticket_followups(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "run", "ticket-followups", "--database", database]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ticket-followups: ") and "tickets checked" in out
    assert main(["jobs", "list", "--database", database]) == 0
    assert "ticket-followups" in capsys.readouterr().out


def test_staff_add_with_a_role_and_a_wrong_role(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["staff", "add", "6301", "--role", "manager", "--name", "Sun",
                 "--database", database]) == 0
    assert main(["staff", "list", "--database", database]) == 0
    assert "6301\tmanager" in capsys.readouterr().out
    assert main(["staff", "add", "6302", "--role", "boss", "--database", database]) == 2
    assert "agent, manager, admin" in capsys.readouterr().err
