"""/privacy in the chat: consent per purpose, what we hold, a copy of one's data, and deleting
the account with a cooling-off period.

Buttons carry `pv:<action>[:<purpose>:<0|1>]`. Turning a purpose off is one tap, like turning
it on. "Send me my data" sends two documents (a JSON file and a readable summary). "Delete my
account" warns that points and coupons are lost and asks for a confirmation; the deletion then
waits `erase_cooling_off_days` (the daily privacy job carries it out), and /privacy offers to
cancel it until then.
"""

from __future__ import annotations

import logging
from datetime import datetime

from domain.privacy.model import Purpose
from domain.privacy.services import (
    cancel_erasure,
    consents_of,
    counts,
    export_for_member,
    export_json,
    readable_summary,
    request_erasure,
    set_consent,
)
from domain.shared.clock import local_day
from domain.tickets.model import AuditEntry
from handlers.routing import Context, Router, buttons, say
from handlers.types import Button, Document, Outcome, Reply

log = logging.getLogger(__name__)
router = Router()

PREFIX = "pv"


async def _menu(ctx: Context, *, edit: bool = False, note: Reply | None = None) -> Outcome:
    """The /privacy page: each purpose with its state and a button to change it."""
    member = ctx.member
    assert member is not None and member.id is not None
    async with ctx.deps.uow_factory() as uow:
        consents = await consents_of(uow, member)
        pending = await uow.privacy.pending_erasure(member.id)
    lines = []
    rows: list[list[Button]] = []
    for purpose in Purpose:
        granted = consents[purpose].granted
        state = ctx.t("privacy.on" if granted else "privacy.off")
        lines.append(ctx.t("privacy.purpose_line", purpose=ctx.t(f"privacy.purpose.{purpose}"),
                           state=state))
        rows.append([Button(
            "privacy.turn_off_button" if granted else "privacy.turn_on_button",
            f"{PREFIX}:t:{purpose.value}:{0 if granted else 1}",
            {"purpose": ctx.t(f"privacy.purpose.{purpose}")},
        )])
    rows.append([Button("privacy.summary_button", f"{PREFIX}:sum")])
    rows.append([Button("privacy.export_button", f"{PREFIX}:exp")])
    if pending is not None:
        rows.append([Button("privacy.cancel_delete_button", f"{PREFIX}:undo")])
        status = ctx.t("privacy.delete_pending", day=_day(ctx, pending.due_at))
    else:
        rows.append([Button("privacy.delete_button", f"{PREFIX}:del")])
        status = ""
    page = Reply(
        "privacy.menu",
        {"purposes": "\n".join(lines), "status": status,
         "version": ctx.deps.policy.privacy.consent_wording_version},
        buttons=buttons(*rows),
        edit=edit,
    )
    return Outcome((note, page) if note is not None else (page,))


@router.command("privacy", description_key="command.privacy", member_only=True)
async def privacy(ctx: Context) -> Outcome:
    """/privacy: what the member agreed to, with buttons to change it and to see their data."""
    return await _menu(ctx)


@router.button(PREFIX, member_only=True)
async def privacy_button(ctx: Context) -> Outcome:
    """A button of the /privacy page."""
    member = ctx.member
    assert member is not None and member.id is not None
    parts = ctx.inbound.payload.split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "t" and len(parts) == 4 and parts[3] in ("0", "1"):
        try:
            purpose = Purpose(parts[2])
        except ValueError:
            return say("button.expired")
        granted = parts[3] == "1"
        async with ctx.deps.uow_factory() as uow:
            await set_consent(uow, ctx.deps.policy, member.id, purpose, granted, ctx.now)
            await uow.commit()
        log.info("member %s set %s consent to %s", member.id, purpose.value, granted)
        if purpose is Purpose.MARKETING:
            member.marketing_consent = granted
        return await _menu(ctx, edit=True)
    if action == "sum":
        return await _summary(ctx, member.id)
    if action == "exp":
        return await _export(ctx, member.id, member.member_no)
    if action == "del":
        return await _confirm_delete(ctx, member.id)
    if action == "delok":
        async with ctx.deps.uow_factory() as uow:
            request = await request_erasure(uow, ctx.deps.policy, member.id, ctx.now)
            await uow.commit()
        log.info("member %s asked to delete their account", member.id)
        return say("privacy.delete_requested", day=_day(ctx, request.due_at))
    if action == "keep":
        return say("privacy.delete_kept")
    if action == "undo":
        async with ctx.deps.uow_factory() as uow:
            cancelled = await cancel_erasure(uow, member.id, ctx.now)
            await uow.commit()
        return await _menu(ctx, note=Reply(
            "privacy.delete_cancelled" if cancelled else "privacy.delete_nothing"
        ))
    return say("button.expired")


async def _summary(ctx: Context, member_id: int) -> Outcome:
    async with ctx.deps.uow_factory() as uow:
        data = await export_for_member(uow, member_id)
    tables = "\n".join(
        ctx.t("privacy.summary_line", what=ctx.t(f"privacy.table.{table}")
              if ctx.deps.translator.has(ctx.lang, f"privacy.table.{table}") else table,
              count=count)
        for table, count in counts(data).items()
    )
    profile = (data.get("members") or [{}])[0]
    return say(
        "privacy.summary",
        name=profile.get("name") or "-",
        phone=profile.get("phone") or "-",
        birthday=profile.get("birthday") or "-",
        tables=tables,
    )


async def _export(ctx: Context, member_id: int, member_no: str) -> Outcome:
    async with ctx.deps.uow_factory() as uow:
        data = await export_for_member(uow, member_id)
        await uow.audit.add(AuditEntry(f"member:{member_id}", "member.export", ctx.now,
                                       member_id=member_id, detail="requested in the chat"))
        await uow.commit()
    stamp = f"{ctx.now:%Y%m%d}"
    json_file = Document(f"my-data-{member_no}-{stamp}.json",
                         export_json(data, member_no, ctx.now))
    text_file = Document(f"my-data-{member_no}-{stamp}.txt",
                         readable_summary(data, member_no, ctx.now).encode("utf-8"))
    log.info("member %s was sent a copy of their data", member_id)
    return Outcome((
        Reply("privacy.export_json", document=json_file),
        Reply("privacy.export_text", document=text_file),
    ))


async def _confirm_delete(ctx: Context, member_id: int) -> Outcome:
    async with ctx.deps.uow_factory() as uow:
        balance = await uow.ledger.balance(member_id)
        coupons = len(await uow.coupons.active_for(member_id, ctx.now))
    return Outcome((Reply(
        "privacy.delete_warning",
        {"points": balance, "coupons": coupons,
         "days": ctx.deps.policy.privacy.erase_cooling_off_days},
        buttons=buttons(
            [Button("privacy.delete_confirm_button", f"{PREFIX}:delok")],
            [Button("privacy.delete_keep_button", f"{PREFIX}:keep")],
        ),
    ),))


def _day(ctx: Context, moment: datetime) -> str:
    """The chain's calendar day of `moment`, as the member reads the deletion date."""
    return local_day(moment, ctx.deps.policy.timezone).isoformat()
