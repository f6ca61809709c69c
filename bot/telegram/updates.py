"""Each Telegram update handled once: its id is claimed in the database as it is handled.

Telegram redelivers a webhook update it thinks failed (a slow answer, a worker killed after
handling), and a polling process that crashed before confirming an offset sees its last updates
again. A redelivered update must not open a second ticket or award points twice, whichever
worker it reaches: the first claim of an update id wins, every later one is skipped. A claim is
made before the step does anything, so an update whose handling crashed is not retried: the
person got the apology already, and running half a step twice is worse than not at all.

The claim is written by the conversation step itself, first thing in its first transaction
(handlers.engine, domain.updates.services): one write transaction and one commit serve the
claim and loading who is talking, where there used to be a transaction for the claim alone. A
redelivery is found there and the step stops before it changed anything. When the step failed
before that transaction committed (or the update never reached a step), the claim is written
afterwards in a small transaction of its own (`first_delivery`), so a crash is still not
retried.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from domain.updates.model import ClaimState, UpdateClaim
from domain.updates.services import STEP_CLAIM, claim_in

if TYPE_CHECKING:
    from bot.bootstrap import App

logger = logging.getLogger(__name__)

__all__ = ["bot_id_of", "claimed_by_its_step", "first_delivery"]


def bot_id_of(token: str | None) -> str:
    """The bot's numeric id: the part of the token before the colon, which is no secret."""
    return (token or "").partition(":")[0][:32] or "bot"


async def first_delivery(app: App, update_id: int) -> bool:
    """Claim `update_id` in a transaction of its own: True the first time it is seen by any
    worker on this database; False after."""
    if getattr(app, "uow_factory", None) is None:
        return True  # an adapter test's stand-in App has no database to remember with
    claim = UpdateClaim(bot_id_of(app.settings.bot_token), update_id, app.clock.now())
    async with app.uow_factory() as uow:
        claimed = await claim_in(uow, claim)
        await uow.commit()
    if not claimed:
        _skipped(update_id)
    return claimed


@asynccontextmanager
async def claimed_by_its_step(app: App, update_id: int) -> AsyncIterator[None]:
    """Around the handling of one update: the conversation step claims `update_id` in its own
    first transaction and raises UpdateAlreadyHandled for a redelivery (the adapter's reply
    code skips the update then). When the block ends with the claim not written (the step
    crashed before committing, or the update reached no step), it is written here, alone."""
    if getattr(app, "uow_factory", None) is None:
        yield  # an adapter test's stand-in App has no database to remember with
        return
    claim = UpdateClaim(bot_id_of(app.settings.bot_token), update_id, app.clock.now())
    token = STEP_CLAIM.set(claim)
    try:
        yield
    finally:
        STEP_CLAIM.reset(token)
        if claim.state is ClaimState.REDELIVERED:
            _skipped(update_id)
        elif claim.state is ClaimState.PENDING:
            try:
                await first_delivery(app, update_id)
            except Exception:
                # The update was handled (or failed and apologised); only its id is not
                # remembered, so a redelivery of it would run again.
                logger.exception("could not remember update %d as handled", update_id)


def _skipped(update_id: int) -> None:
    logger.info("update %d was delivered again; handled once already, skipped", update_id)
