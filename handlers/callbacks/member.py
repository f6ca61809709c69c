"""The member's side of a callback: the check-in's quick-answer buttons.

The check-in arrives from the outbox with "all good", "I have a problem" and, when the member
went quiet, a reason in one tap (`cb:<answer>:<callback>[:<reason>]`). A tap records the answer
once, for the member the check-in was sent to; a problem becomes a ticket at the desk, and
whatever the member writes next joins it (see handlers.tickets.member). A second tap, or made-up
button data, is answered politely and changes nothing.
"""

from __future__ import annotations

import logging

from domain.callbacks.model import Outcome
from domain.callbacks.rules import parse_checkin
from domain.callbacks.services import answer_checkin
from handlers.routing import Context, Router, say
from handlers.types import Outcome as StepOutcome
from handlers.types import Reply

log = logging.getLogger(__name__)
router = Router()


@router.button("cb")
async def checkin_answer(ctx: Context) -> StepOutcome:
    """A check-in button: all good, a problem (a ticket is opened), or why they went quiet."""
    parsed = parse_checkin(ctx.inbound.payload)
    if parsed is None:
        return say("callbacks.unknown")
    outcome, callback_id, reason = parsed
    async with ctx.deps.uow_factory() as uow:
        answer = await answer_checkin(
            uow, ctx.deps.policy, callback_id, ctx.member, outcome, reason, ctx.now
        )
        await uow.commit()
    if answer.status == "unknown":
        return say("callbacks.unknown")
    if answer.status == "not_yours":
        log.warning("user %s pressed a check-in button of another member", ctx.inbound.user_id)
        return say("callbacks.unknown")
    if answer.status == "already":
        return say("callbacks.already")
    if outcome is Outcome.PROBLEM:
        if answer.ticket_number:
            return StepOutcome((Reply("callbacks.problem_opened",
                                      {"number": answer.ticket_number}, edit=True),))
        return StepOutcome((Reply("callbacks.problem_noted", edit=True),))
    if reason is not None:
        return StepOutcome((Reply("callbacks.thanks_reason",
                                  {"reason": ctx.t(f"callbacks.reason.{reason.value}")},
                                  edit=True),))
    return StepOutcome((Reply("callbacks.thanks_ok", edit=True),))
