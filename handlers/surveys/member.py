"""Surveys in the chat: a score from the invitation's buttons, an optional comment, and thanks.

The invitation arrives from the outbox with one button per score (`sv:<invitation>:<score>:
<check>`). A tap records the score once, for the member the invitation was sent to; a second
tap, a tap on an expired survey, or forged button data is answered politely and changes
nothing. Then the survey's follow-up question asks for a comment (with a Skip button); the
member's next text is the comment. The last message depends on the answer: a detractor hears
that someone will call back (the call-back ticket opened with the score), a promoter is thanked
and may get a link to share with friends.
"""

from __future__ import annotations

import logging
from typing import Any

from domain.surveys.model import AnswerOutcome, AnswerStatus, Mood, SurveyKind
from domain.surveys.rules import SKIP_PREFIX, parse_score_data
from domain.surveys.services import answer_survey, comment_on_answer
from handlers.routing import Context, Router, buttons, say
from handlers.types import Button, InboundKind, Outcome, Reply

log = logging.getLogger(__name__)
router = Router()

COMMENT = "survey_comment"


@router.button("sv")
async def score(ctx: Context) -> Outcome:
    """A score button: record it once, then ask for a comment or say thanks."""
    parsed = parse_score_data(ctx.inbound.payload)
    if parsed is None:
        return say("surveys.unknown")
    invitation_id, value, token = parsed
    async with ctx.deps.uow_factory() as uow:
        outcome = await answer_survey(
            uow, ctx.deps.policy, invitation_id, value, token, ctx.member, ctx.now
        )
        await uow.commit()
    if outcome.status is AnswerStatus.UNKNOWN:
        return say("surveys.unknown")
    if outcome.status is AnswerStatus.NOT_YOURS:
        return say("surveys.not_yours")
    if outcome.status is AnswerStatus.ALREADY:
        return say("surveys.already")
    if outcome.status is AnswerStatus.EXPIRED:
        return Outcome((Reply("surveys.expired", edit=True),))
    return _recorded(ctx, outcome)


def _recorded(ctx: Context, outcome: AnswerOutcome) -> Outcome:
    answer, definition = outcome.answer, outcome.definition
    assert answer is not None and outcome.invitation is not None
    top = 5 if answer.kind is SurveyKind.CSAT else 10
    scored = Reply("surveys.scored", {"score": answer.score, "top": top}, edit=True)
    state = {
        "invitation": outcome.invitation.id,
        "mood": answer.mood.value,
        "ticket": outcome.recovery_ticket or "",
    }
    if definition is not None and definition.asks_comment:
        ask = Reply(
            "surveys.ask_comment",
            {"question": definition.follow_up(ctx.lang)},
            buttons=buttons(
                [Button("surveys.skip_button", f"{SKIP_PREFIX}:{outcome.invitation.id}")]
            ),
        )
        return Outcome((scored, ask), next_state=COMMENT, state_data=state)
    return Outcome((scored, *_closing(ctx, state)), next_state="", state_data={})


def _closing(ctx: Context, state: dict[str, Any]) -> tuple[Reply, ...]:
    """The last word: sorry and a call back, thanks and a link to share, or thanks."""
    mood = state.get("mood")
    if mood == Mood.DETRACTOR.value:
        if state.get("ticket"):
            return (Reply("surveys.sorry_ticket", {"number": state["ticket"]}),)
        return (Reply("surveys.sorry"),)
    if mood == Mood.PROMOTER.value:
        replies = [Reply("surveys.thanks_promoter")]
        if ctx.member is not None:
            surveys = ctx.deps.policy.surveys
            link = surveys.referral_url(ctx.member.member_no, ctx.deps.bot_username)
            if link:
                replies.append(Reply("surveys.referral", {"link": link}))
        return tuple(replies)
    return (Reply("surveys.thanks"),)


@router.button(SKIP_PREFIX)
async def skip(ctx: Context) -> Outcome:
    """No comment: the closing words, and the conversation moves on."""
    arg = ctx.inbound.payload.split(":", 1)[1] if ":" in ctx.inbound.payload else ""
    if ctx.chat_user.state != COMMENT or str(ctx.data.get("invitation")) != arg:
        return say("surveys.already")
    return Outcome(_closing(ctx, ctx.data), next_state="", state_data={})


@router.state(COMMENT)
async def comment(ctx: Context) -> Outcome:
    """The member's next text is the comment on their answer."""
    if ctx.inbound.kind is not InboundKind.TEXT or ctx.member is None:
        return say("surveys.comment_text_only")
    text = ctx.inbound.payload
    limit = ctx.deps.policy.max_text_length
    if len(text) > limit:
        return say("text.too_long", max=limit)
    invitation_id = ctx.data.get("invitation")
    if isinstance(invitation_id, int):
        async with ctx.deps.uow_factory() as uow:
            await comment_on_answer(
                uow, ctx.deps.policy, invitation_id, ctx.member, text, ctx.now
            )
            await uow.commit()
    return Outcome(
        (Reply("surveys.comment_saved"), *_closing(ctx, ctx.data)), next_state="", state_data={}
    )
