"""Each Telegram update handled once: its id is claimed in the database before it is handled.

Telegram redelivers a webhook update it thinks failed (a slow answer, a worker killed after
handling), and a polling process that crashed before confirming an offset sees its last updates
again. A redelivered update must not open a second ticket or award points twice, whichever
worker it reaches: the first claim of an update id wins, every later one is skipped. A claim is
made before handling, so an update whose handling crashed is not retried: the person got the
apology already, and running half a step twice is worse than not at all.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bootstrap import App

logger = logging.getLogger(__name__)

# Telegram gives up redelivering after about a day; two days of ids are plenty.
REMEMBERED_FOR = timedelta(days=2)
# Old ids are dropped now and then (every this many updates), never on every update.
FORGET_EVERY = 500


def bot_id_of(token: str | None) -> str:
    """The bot's numeric id: the part of the token before the colon, which is no secret."""
    return (token or "").partition(":")[0][:32] or "bot"


async def first_delivery(app: App, update_id: int) -> bool:
    """True the first time `update_id` is seen by any worker on this database; False after."""
    if getattr(app, "uow_factory", None) is None:
        return True  # an adapter test's stand-in App has no database to remember with
    now = app.clock.now()
    async with app.uow_factory() as uow:
        claimed = await uow.handled_updates.claim(
            bot_id_of(app.settings.bot_token), update_id, now
        )
        if claimed and update_id % FORGET_EVERY == 0:
            await uow.handled_updates.forget_before(now - REMEMBERED_FOR)
        await uow.commit()
    if not claimed:
        logger.info("update %d was delivered again; handled once already, skipped", update_id)
    return claimed
