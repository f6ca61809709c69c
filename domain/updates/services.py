"""Claiming an update id inside the transaction of the step that handles the update.

An adapter knows the update id; the conversation step opens the transaction. The adapter puts
an `UpdateClaim` in `STEP_CLAIM` (a context variable, so concurrent updates never see each
other's) around the step; the step's first unit of work calls `claim_in` after the writes that
loading who is talking needs, if any, so they and the claim are one transaction and one commit
(and a redelivery undoes them); with none, the claim is the unit of work's only write. Who made the
claim pending also checks afterwards that it was written (bot.telegram.updates), and writes it
on its own when the step failed before committing: a crashed update is not retried.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING

from domain.updates.model import UpdateClaim

if TYPE_CHECKING:
    from domain.shared.ports import UnitOfWork

# Telegram gives up redelivering after about a day; two days of ids are plenty.
REMEMBERED_FOR = timedelta(days=2)
# Old ids are dropped now and then (every this many updates), never on every update.
FORGET_EVERY = 500

# The claim of the update whose step runs in this task, if an adapter set one.
STEP_CLAIM: ContextVar[UpdateClaim | None] = ContextVar("step_claim", default=None)


async def claim_in(uow: UnitOfWork, claim: UpdateClaim) -> bool:
    """Claim `claim`'s update id in `uow` (the caller commits): True the first time, False for
    a redelivery. Every FORGET_EVERY-th claim also drops ids older than REMEMBERED_FOR."""
    claimed = await uow.handled_updates.claim(claim.bot_id, claim.update_id, claim.at)
    if claimed and claim.update_id % FORGET_EVERY == 0:
        await uow.handled_updates.forget_before(claim.at - REMEMBERED_FOR)
    return claimed
