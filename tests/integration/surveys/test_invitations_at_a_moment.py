"""The invitations one run made, read back by the moment they were made (SQLite and
PostgreSQL): only those of that moment, oldest first, as they were stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.bootstrap import App
from domain.surveys.model import SurveyInvitation, SurveyKind, Trigger
from tests.support.coupons import add_member

T0 = datetime(2026, 6, 15, 15, 59, tzinfo=UTC)


def _invitation(member_id: int, key: str, at: datetime, kind: SurveyKind) -> SurveyInvitation:
    return SurveyInvitation(
        member_id=member_id, survey_key=kind.value, kind=kind, trigger=Trigger.SEGMENT,
        trigger_ref="demo", dedupe_key=key, token=f"t-{key}", created_at=at,
        expires_at=at + timedelta(days=3), day=at.date(), category="demo",
    )


async def test_the_invitations_made_at_a_moment_come_back_oldest_first(any_app: App) -> None:
    ann = await add_member(any_app, "1")
    bob = await add_member(any_app, "2")
    assert ann.id is not None and bob.id is not None
    async with any_app.uow_factory() as uow:
        first = await uow.surveys.add_invitation(_invitation(bob.id, "a", T0, SurveyKind.NPS))
        await uow.surveys.add_invitation(
            _invitation(ann.id, "b", T0 - timedelta(seconds=1), SurveyKind.NPS))
        second = await uow.surveys.add_invitation(
            _invitation(ann.id, "c", T0, SurveyKind.CSAT))
        await uow.surveys.add_invitation(
            _invitation(bob.id, "d", T0 + timedelta(days=1), SurveyKind.CSAT))
        await uow.commit()
    assert first is not None and second is not None
    async with any_app.uow_factory() as uow:
        found = await uow.surveys.invitations_created_at(T0)
        assert await uow.surveys.invitations_created_at(T0 + timedelta(hours=1)) == []
    assert found == [first, second]
    assert [(i.member_id, i.token, i.kind) for i in found] == [
        (bob.id, "t-a", SurveyKind.NPS), (ann.id, "t-c", SurveyKind.CSAT)]
