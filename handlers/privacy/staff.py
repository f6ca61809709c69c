"""/merge KEEP DROP for managers: the duplicate found with /member merged into the member kept.

The command shows what would move (a dry run, rolled back) with a Merge button; the button
(`pm:<keep id>:<drop id>`) does it in one transaction. Agents and members get the answer to an
unknown command, as for every staff command.
"""

from __future__ import annotations

import logging
from typing import Any

from domain.privacy.services import MergeRefused, merge_members
from domain.shared.text import parse_id
from domain.staff.model import StaffMember
from handlers.routing import Context, Router, buttons, say
from handlers.tickets.staff import desk_staff, unknown_command
from handlers.types import Button, Outcome, Reply

log = logging.getLogger(__name__)
router = Router()

MERGE_PREFIX = "pm"


def _may_merge(staff: StaffMember) -> bool:
    return staff.is_manager_or_admin


def _moved(result_moved: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in result_moved.items() if count) or "0"


def _refused(ctx: Context, reason_key: str, **params: Any) -> Outcome:
    """Not merged, and why: the reason in the chat's language too."""
    return say("merge.refused", reason=ctx.t(reason_key, **params))


@router.command("merge")
async def merge_command(ctx: Context) -> Outcome:
    """/merge KEEP DROP: preview merging member DROP into KEEP, with a button to do it."""
    staff = await desk_staff(ctx)
    if staff is None:
        return unknown_command(ctx)  # members and strangers: as if there were no such command
    if not _may_merge(staff):
        return say("merge.not_allowed")
    args = ctx.inbound.payload.split()
    if len(args) != 2:
        return say("merge.usage")
    keep_no, drop_no = (a.strip().upper()[:32] for a in args)
    async with ctx.deps.uow_factory() as uow:
        try:
            result = await merge_members(uow, keep_no, drop_no, ctx.now,
                                         actor=f"staff:{staff.telegram_user_id}", dry_run=True)
        except MergeRefused as exc:
            return _refused(ctx, exc.key, **exc.params)
        await uow.rollback()  # a preview: nothing of it stays
    return Outcome((Reply(
        "merge.preview",
        {"keep": keep_no, "drop": drop_no, "moved": _moved(result.moved),
         "points": result.balance, "tier": result.tier},
        buttons=buttons([Button(
            "merge.confirm_button", f"{MERGE_PREFIX}:{result.kept_id}:{result.dropped_id}"
        )]),
    ),))


@router.button(MERGE_PREFIX)
async def merge_button(ctx: Context) -> Outcome:
    """The Merge button of a preview: merge for real."""
    staff = await desk_staff(ctx)
    if staff is None:
        return unknown_command(ctx)
    if not _may_merge(staff):
        return say("merge.not_allowed")
    parts = ctx.inbound.payload.split(":")
    kept_id, dropped_id = (parse_id(parts[1]), parse_id(parts[2])) if len(parts) == 3 else (
        None, None
    )
    if kept_id is None or dropped_id is None:
        return say("button.expired")
    async with ctx.deps.uow_factory() as uow:
        kept = await uow.members.get(kept_id)
        dropped = await uow.members.get(dropped_id)
        if kept is None or dropped is None:
            return _refused(ctx, "merge.reason.gone")
        try:
            result = await merge_members(uow, kept.member_no, dropped.member_no, ctx.now,
                                         actor=f"staff:{staff.telegram_user_id}")
        except MergeRefused as exc:
            return _refused(ctx, exc.key, **exc.params)
        await uow.commit()
    log.info("staff %s merged member %s into %s", staff.telegram_user_id,
             result.dropped_id, result.kept_id)
    return say("merge.done", keep=kept.member_no, drop=dropped.member_no,
               points=result.balance, tier=result.tier)
