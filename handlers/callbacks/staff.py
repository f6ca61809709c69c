"""The staff's call queue in a private chat with the bot: /calls, taking a call, its outcome.

`/calls` lists my due calls and the unassigned ones, the most overdue first, each with its
reason; a button takes one and shows the member's profile (phone masked for agents; managers
and admins see the number in full, which Telegram shows as tap-to-call), recent purchases, open
tickets, the last callbacks and the policy's suggested script. The outcome buttons record what
happened; "call again" asks for a time and "add a note" for a note. Anyone who is not staff
gets exactly the unknown-command answer, as for the desk's commands.
"""

from __future__ import annotations

import logging
from datetime import datetime

from domain.callbacks.model import STAFF_OUTCOMES, Callback, LogEntry, Outcome
from domain.callbacks.rules import (
    ACTION_OF,
    CALLS_PREFIX,
    STAFF_ACTIONS,
    overdue_hours,
    parse_when,
)
from domain.callbacks.services import note_call, record_call, take_call
from domain.callbacks.views import CallCard, call_card, call_queue
from domain.shared.text import parse_id
from domain.staff.model import StaffMember
from domain.tickets.rules import local_time
from handlers.i18n import money
from handlers.routing import Context, Router, buttons, say
from handlers.tickets.member import category_name, status_name
from handlers.tickets.staff import desk_staff, unknown_command
from handlers.types import Button, InboundKind, Reply
from handlers.types import Outcome as StepOutcome

log = logging.getLogger(__name__)
router = Router()

QUEUE_SHOWN = 10
ASK_WHEN = "callback_when"
ASK_NOTE = "callback_note"


def rule_name(ctx: Context, callback: Callback) -> str:
    return ctx.t(f"callbacks.rule.{callback.rule.value}")


def outcome_name(ctx: Context, outcome: Outcome) -> str:
    return ctx.t(f"callbacks.outcome.{outcome.value}")


@router.command("calls")
async def calls(ctx: Context) -> StepOutcome:
    """/calls: my due calls and the unassigned ones, the most overdue first."""
    staff = await desk_staff(ctx)
    if staff is None:
        return unknown_command(ctx)
    if not ctx.inbound.is_private:
        return say("callbacks.private_only")
    async with ctx.deps.uow_factory() as uow:
        lines = await call_queue(uow, staff, ctx.now, QUEUE_SHOWN)
    if not lines:
        return say("callbacks.queue_empty")
    tz = ctx.deps.policy.timezone
    text = []
    for line in lines:
        late = overdue_hours(line.callback, ctx.now)
        text.append(ctx.t(
            "callbacks.queue_line",
            flag="🔴" if late >= ctx.deps.policy.callbacks.remind_after_hours else "🟢",
            number=line.callback.number,
            rule=rule_name(ctx, line.callback),
            context=line.callback.context or "-",
            due=local_time(line.callback.due_at, tz)[5:],
            late=late,
            member=line.member.member_no if line.member else "?",
            mine="👤" if line.callback.assignee_id == staff.id else "",
        ))
    rows = [[Button("callbacks.take_button", f"{CALLS_PREFIX}:take:{line.callback.id}",
                    {"number": line.callback.number})] for line in lines]
    return StepOutcome((Reply("callbacks.queue", {"lines": "\n".join(text),
                                                  "shown": len(lines)},
                              buttons=buttons(*rows)),))


@router.button(CALLS_PREFIX)
async def call_button(ctx: Context) -> StepOutcome:
    """The call queue's buttons: take a call, an outcome, add a note."""
    staff = await desk_staff(ctx)
    if staff is None:
        log.warning("user %s (not staff) pressed a call queue button; refused",
                    ctx.inbound.user_id)
        return say("button.expired")
    parts = ctx.inbound.payload.split(":")
    ident = parse_id(parts[2]) if len(parts) == 3 else None
    if ident is None:
        return say("button.expired")
    action = parts[1]
    if action == "take":
        return await _take(ctx, staff, ident)
    if action == "note":
        return say("callbacks.ask_note", state=ASK_NOTE, data={"log": ident})
    outcome = STAFF_ACTIONS.get(action)
    if outcome is None:
        return say("button.expired")
    if outcome is Outcome.CALL_AGAIN:
        return say("callbacks.ask_when", state=ASK_WHEN, data={"callback": ident},
                   timezone=ctx.deps.policy.timezone)
    return await _record(ctx, staff, ident, outcome)


async def _take(ctx: Context, staff: StaffMember, callback_id: int) -> StepOutcome:
    async with ctx.deps.uow_factory() as uow:
        await take_call(uow, callback_id, staff, ctx.now)
        card = await call_card(uow, callback_id, staff, private_chat=ctx.inbound.is_private,
                               now=ctx.now)
        await uow.commit()  # the assignment and the audit rows
    log.info("staff %s took call %s", staff.telegram_user_id, card.callback.number)
    return StepOutcome((_card_reply(ctx, card),))


def outcome_buttons(callback: Callback) -> tuple[tuple[Button, ...], ...]:
    keys = [Button(f"callbacks.outcome_button.{o.value}",
                   f"{CALLS_PREFIX}:{ACTION_OF[o]}:{callback.id}") for o in STAFF_OUTCOMES]
    return buttons(*[keys[i : i + 2] for i in range(0, len(keys), 2)])


def _card_reply(ctx: Context, card: CallCard) -> Reply:
    policy, tz = ctx.deps.policy, ctx.deps.policy.timezone
    callback, member = card.callback, card.member
    purchases = [
        ctx.t("desk.purchase_line", when=local_time(r.occurred_at, tz)[:10],
              store=card.stores[r.store_id].code if r.store_id in card.stores else "-",
              amount=money(ctx.lang, r.amount, r.currency))
        for r in card.receipts
    ]
    tickets = [
        ctx.t("desk.past_ticket_line", number=t.number, category=category_name(ctx, t),
              status=status_name(ctx, t.status))
        for t in card.open_tickets
    ]
    history = [_history_line(ctx, e) for e in card.history]
    spec = policy.callbacks.rule(callback.rule)
    script = spec.script(ctx.lang).replace("{chain}", policy.chain_name).replace(
        "{context}", callback.context or "")
    return Reply(
        "callbacks.card",
        {
            "number": callback.number,
            "rule": rule_name(ctx, callback),
            "context": callback.context or "-",
            "due": local_time(callback.due_at, tz),
            "attempts": callback.attempts,
            "max_attempts": policy.callbacks.max_attempts,
            "name": member.name,
            "member_no": member.member_no,
            "phone": ctx.t("callbacks.phone_full", phone=card.phone) if card.full
            else card.phone,
            "tier": policy.tier(member.tier).name(ctx.lang),
            "purchases": "\n".join(purchases) or ctx.t("desk.none"),
            "tickets": "\n".join(tickets) or ctx.t("desk.none"),
            "history": "\n".join(history) or ctx.t("desk.none"),
            "script": script,
        },
        buttons=outcome_buttons(callback),
    )


def _history_line(ctx: Context, entry: LogEntry) -> str:
    return ctx.t(
        "callbacks.history_line",
        when=local_time(entry.at, ctx.deps.policy.timezone)[:10],
        outcome=outcome_name(ctx, entry.outcome),
        reason=ctx.t(f"callbacks.reason.{entry.reason}") if entry.reason else "",
    )


async def _record(
    ctx: Context, staff: StaffMember, callback_id: int, outcome: Outcome,
    when: datetime | None = None,
) -> StepOutcome:
    async with ctx.deps.uow_factory() as uow:
        entry = await record_call(
            uow, ctx.deps.policy, callback_id, staff, outcome, ctx.now,
            call_again_at=when,
        )
        callback = await uow.callbacks.get(callback_id)
        await uow.commit()
    assert callback is not None and entry.id is not None
    log.info("staff %s: call %s %s", staff.telegram_user_id, callback.number, outcome.value)
    params = {
        "number": callback.number,
        "outcome": outcome_name(ctx, callback.outcome or outcome),
        "next": local_time(callback.due_at, ctx.deps.policy.timezone),
    }
    key = "callbacks.recorded" if not callback.is_open else "callbacks.recorded_open"
    note = buttons([Button("callbacks.note_button", f"{CALLS_PREFIX}:note:{entry.id}")])
    return StepOutcome((Reply(key, params, buttons=note),), next_state="", state_data={})


@router.state(ASK_WHEN)
async def call_again_when(ctx: Context) -> StepOutcome:
    """The time to call again, typed after the "call again" button."""
    staff = await desk_staff(ctx)
    callback_id = ctx.data.get("callback")
    if staff is None or not isinstance(callback_id, int):
        return StepOutcome((Reply("callbacks.cancelled"),), next_state="", state_data={})
    if ctx.inbound.kind is not InboundKind.TEXT:
        return say("callbacks.when_invalid", timezone=ctx.deps.policy.timezone)
    when = parse_when(ctx.inbound.payload, ctx.deps.policy.timezone, ctx.now)
    if when is None:
        return say("callbacks.when_invalid", timezone=ctx.deps.policy.timezone)
    return await _record(ctx, staff, callback_id, Outcome.CALL_AGAIN, when)


@router.state(ASK_NOTE)
async def call_note(ctx: Context) -> StepOutcome:
    """The optional note on the outcome just recorded."""
    staff = await desk_staff(ctx)
    log_id = ctx.data.get("log")
    if staff is None or not isinstance(log_id, int):
        return StepOutcome((Reply("callbacks.cancelled"),), next_state="", state_data={})
    if ctx.inbound.kind is not InboundKind.TEXT:
        return say("callbacks.ask_note")
    async with ctx.deps.uow_factory() as uow:
        done = await note_call(uow, log_id, staff, ctx.inbound.payload, ctx.now)
        await uow.commit()
    return StepOutcome((Reply("callbacks.noted" if done else "callbacks.note_empty"),),
                       next_state="", state_data={})
