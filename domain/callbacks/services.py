"""Callbacks at work: scheduling one under the rules, the member's answer to a check-in, the
staff's outcomes from the call queue, and the job's fallbacks and overdue reminders.

Each function is one use case inside the caller's unit of work; the caller commits. Members
and staff hear of things through the outbox, in the same transaction. A problem a member
reports is not turned into a ticket here: `CallbackProblemReported` is recorded and the desk
(domain.tickets) opens the ticket.

Who may do what: every staff role sees the call queue; an agent takes and works calls that are
unassigned or their own, managers and admins any call. The member's phone in full is shown to
managers and admins in a private chat only (domain.tickets.rules.sees_personal_data).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.callbacks.events import CallbackProblemReported
from domain.callbacks.model import (
    Callback,
    CallbackRefused,
    CallbackRun,
    CallbackStatus,
    CallMember,
    Candidate,
    Channel,
    FlagKind,
    LogEntry,
    Outcome,
    Reason,
    Rule,
)
from domain.callbacks.rules import (
    admit,
    after_no_answer,
    checkin_buttons,
    is_high_value,
    local_due,
    new_member_due,
    overdue_stage,
    problem_category,
    rule_for_ticket,
)
from domain.messaging.model import MessageKind
from domain.messaging.rules import refusal_of_unasked
from domain.privacy.model import Purpose
from domain.segments.model import Lifecycle
from domain.shared.clock import local_day
from domain.shared.outbox import queue_to_chat, queue_to_member, queue_to_staff
from domain.staff.model import StaffMember, managers_else_admins
from domain.tickets.model import AuditEntry
from domain.tickets.rules import SYSTEM, local_time, member_actor, staff_actor

if TYPE_CHECKING:
    from domain.members.model import Member
    from domain.segments.events import LifecycleChanged
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork
    from domain.tickets.events import TicketResolved
    from domain.tickets.model import Desk

log = logging.getLogger(__name__)
NOTE_MAX = 500
GONE_QUIET_STAGES = (Lifecycle.AT_RISK, Lifecycle.LAPSED)


async def _audit(
    uow: UnitOfWork, actor: str, action: str, now: datetime, member_id: int | None,
    detail: str = "",
) -> None:
    await uow.audit.add(AuditEntry(actor=actor, action=action, at=now, member_id=member_id,
                                   detail=detail[:300]))


# -- scheduling -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownFacts:
    """What `schedule_callback` reads about a member (their callbacks in the last
    `min_days_between` days, whether staff may phone them, a chat the bot may write to), when
    the caller read it for many members at once."""

    recent: list[Callback]
    calls_allowed: bool
    has_chat: bool


async def schedule_callback(
    uow: UnitOfWork,
    policy: Policy,
    *,
    member_id: int,
    rule: Rule,
    due_at: datetime,
    dedupe_key: str,
    now: datetime,
    context: str = "",
    category: str = "",
    store_id: int | None = None,
    known: KnownFacts | None = None,
    member: CallMember | None = None,
) -> Callback | None:
    """Make a callback under `rule` if the rules allow it; None when they do not (rule off, a
    callback in the window, the same trigger seen before, nobody to call). `known`: what it
    reads about the member, read beforehand with many others (a refresh's slice); `member`:
    the member's row, read beforehand with many others (not read again here).

    A check-in goes to the member's chat through the outbox (a service message that waits for
    quiet hours) when it is due: now, or later from the job (`send_due_checkin`), which looks
    at /stop and a blocked chat again then. A member the bot cannot reach (no linked chat,
    blocked, /stop) goes into the call queue instead when the rule falls back, and is not called
    back otherwise.
    """
    rules = policy.callbacks
    spec = rules.rule(rule)
    if not spec.enabled:
        return None
    found: Member | CallMember | None = (
        member if member is not None else await uow.members.get(member_id)
    )
    if found is None:
        return None
    recent = known.recent if known is not None else await uow.callbacks.recent_for_member(
        member_id, now - timedelta(days=rules.min_days_between)
    )
    admission = admit(rule, recent, rules, now)
    if not admission.allowed:
        log.info("member %s: no %s callback now (%s)", member_id, rule.value, admission.why)
        return None
    if known is not None:
        calls_allowed = known.calls_allowed
        reachable = spec.channel is Channel.CHECKIN and (
            not _checkin_refused(found, rule) and known.has_chat
        )
    else:
        calls_allowed = await may_call(uow, member_id)
        reachable = spec.channel is Channel.CHECKIN and await _reachable(uow, found, rule)
    if reachable:
        status = CallbackStatus.CHECKIN
    elif (spec.channel is Channel.CALL or spec.fallback) and calls_allowed:
        status = CallbackStatus.QUEUED
    else:
        return None
    callback = Callback(
        member_id=member_id, rule=rule, channel=spec.channel, status=status,
        dedupe_key=dedupe_key[:120], created_at=now, due_at=due_at, context=context[:120],
        category=category, store_id=store_id if store_id is not None else found.home_store_id,
        checkin_until=(max(due_at, now) + timedelta(days=rules.checkin_answer_days)
                       if reachable else None),
    )
    if await uow.callbacks.add(callback) is None:
        return None
    assert callback.id is not None
    for other_id in admission.supersedes:
        await _close_by_system(uow, other_id, Outcome.SUPERSEDED, now,
                               note=f"replaced by {callback.number} ({rule.value})")
    if reachable and due_at <= now:
        await _queue_checkin(uow, policy, callback, found, now)
        await uow.callbacks.save(callback)
    elif not reachable and spec.channel is Channel.CHECKIN:
        await _log(uow, callback, SYSTEM, Outcome.FALLBACK, now, note="not reachable by the bot")
    log.info("member %s: %s callback %s (%s)", member_id, rule.value, callback.number,
             status.value)
    return callback


async def may_call(uow: UnitOfWork, member_id: int) -> bool:
    """Staff may phone the member: no flag (wrong number, do not call) and the member has not
    withdrawn their consent to calls (/privacy)."""
    if await uow.callbacks.flags(member_id):
        return False
    return member_id in await uow.consents.allowed([member_id], Purpose.CALLS)


async def _reachable(uow: UnitOfWork, member: Member | CallMember, rule: Rule) -> bool:
    """A linked chat the bot may write to, and no /stop (the messaging rules' word on the
    check-in of `rule`)."""
    if _checkin_refused(member, rule) or member.id is None:
        return False
    return member.id in await uow.chat_users.reachable_chats([member.id])


def _checkin_key(rule: Rule) -> str:
    """The message key of the check-in of `rule`."""
    return f"callbacks.checkin.{rule.value}"


def _checkin_refused(member: Member | CallMember, rule: Rule) -> bool:
    """Whether the messaging rules leave the member without the check-in of `rule` (/stop).
    A check-in is a service message: marketing consent plays no part (CallMember has none)."""
    why_not = refusal_of_unasked(
        MessageKind.SERVICE, _checkin_key(rule), opted_out_at=member.opted_out_at
    )
    return why_not is not None


async def _queue_checkin(
    uow: UnitOfWork, policy: Policy, callback: Callback, member: Member | CallMember,
    now: datetime,
) -> None:
    assert callback.id is not None and member.id is not None
    await queue_to_member(
        uow, member.id, _checkin_key(callback.rule),
        {"chain": policy.chain_name, "context": callback.context or "-"},
        f"callback:{callback.id}:checkin", now,
        buttons=checkin_buttons(callback),
        quiet_hours=True,  # nobody asked for it at this moment: never at night
    )
    callback.checkin_queued_at = now
    callback.checkin_until = now + timedelta(days=policy.callbacks.checkin_answer_days)


async def send_due_checkin(
    uow: UnitOfWork, policy: Policy, callback_id: int, now: datetime, run: CallbackRun
) -> None:
    """A check-in whose time has come goes to the outbox; a member who sent /stop or blocked
    the bot since it was scheduled goes to the call queue instead (or is left alone when the
    rule does not fall back)."""
    callback = await uow.callbacks.get(callback_id, lock=True)
    if (
        callback is None
        or callback.status is not CallbackStatus.CHECKIN
        or callback.checkin_queued_at is not None
        or callback.due_at > now
    ):
        return
    member = await uow.members.get(callback.member_id)
    if member is not None and await _reachable(uow, member, callback.rule):
        await _queue_checkin(uow, policy, callback, member, now)
        await uow.callbacks.save(callback)
        run.checkins += 1
        return
    unreachable = "not reachable by the bot"
    await _fall_back_or_close(uow, policy, callback, now, run, Outcome.UNREACHABLE,
                              note=unreachable, close_note=unreachable)


async def _fall_back_or_close(
    uow: UnitOfWork,
    policy: Policy,
    callback: Callback,
    now: datetime,
    run: CallbackRun,
    close_as: Outcome,
    *,
    note: str,
    close_note: str = "",
) -> bool:
    """A check-in that cannot do its work: into the call queue when the rule falls back and
    the member may be called (True), else closed `close_as` (False)."""
    if policy.callbacks.rule(callback.rule).fallback and not await uow.callbacks.flags(
        callback.member_id
    ):
        callback.to_call_queue(now)
        await uow.callbacks.save(callback)
        await _log(uow, callback, SYSTEM, Outcome.FALLBACK, now, note=note)
        run.fell_back += 1
        return True
    callback.close(close_as, now)
    await uow.callbacks.save(callback)
    await _log(uow, callback, SYSTEM, close_as, now, note=close_note)
    return False


async def _log(
    uow: UnitOfWork,
    callback: Callback,
    actor: str,
    outcome: Outcome,
    now: datetime,
    *,
    reason: str = "",
    note: str = "",
    call_again_at: datetime | None = None,
) -> LogEntry:
    assert callback.id is not None
    return await uow.callbacks.add_log(
        LogEntry(callback.id, callback.member_id, now, actor, outcome, reason=reason,
                 note=note[:NOTE_MAX], call_again_at=call_again_at)
    )


async def _close_by_system(
    uow: UnitOfWork, callback_id: int, outcome: Outcome, now: datetime, note: str = ""
) -> None:
    callback = await uow.callbacks.get(callback_id, lock=True)
    if callback is None or not callback.is_open:
        return
    callback.close(outcome, now)
    await uow.callbacks.save(callback)
    await _log(uow, callback, SYSTEM, outcome, now, note=note)


async def when_ticket_resolved(uow: UnitOfWork, event: TicketResolved, *, policy: Policy) -> None:
    """Every resolved complaint is called back within a day; a detractor's recovery ticket
    (tagged "survey") under its own rule. A reopened and resolved-again ticket is called once."""
    rule = rule_for_ticket(event.tags)
    spec = policy.callbacks.rule(rule)
    await schedule_callback(
        uow, policy, member_id=event.member_id, rule=rule,
        due_at=event.at + timedelta(hours=spec.after_hours),
        dedupe_key=f"{rule.value}:ticket:{event.ticket_id}", now=event.at,
        context=event.number, category=event.category, store_id=event.store_id,
    )


async def when_lifecycle_changed(
    uow: UnitOfWork, event: LifecycleChanged, *, policy: Policy
) -> None:
    """A valuable member moved to at risk or lapsed: a gone-quiet callback, at most once per
    the rule's days, due at the store's morning."""
    await when_lifecycles_changed(uow, [event], policy=policy)


async def when_lifecycles_changed(
    uow: UnitOfWork, events: Sequence[LifecycleChanged], *, policy: Policy
) -> None:
    """The members of a refresh's slice who moved: the rules of `when_lifecycle_changed`, read
    for all of them at once (the stage, the value, the rule's days, someone to call), so only
    the members who get a callback cost queries of their own."""
    rules = policy.callbacks
    spec = rules.rule(Rule.GONE_QUIET)
    if not spec.enabled:
        return
    moved = [e for e in events if e.new in GONE_QUIET_STAGES and e.old is not None]
    if not moved:
        return
    # Per member: tier, home store and the last gone-quiet callback, in one query.
    facts = await uow.callbacks.gone_quiet_facts([e.member_id for e in moved], Rule.GONE_QUIET)
    days = timedelta(days=spec.days)
    valuable: list[LifecycleChanged] = []
    for e in moved:
        if e.member_id not in facts:
            continue
        tier, _store, last = facts[e.member_id]
        if not is_high_value(rules, tier=tier, high_value=e.high_value, churn_flag=e.churn_flag):
            continue
        if last is None or e.at - last >= days:
            valuable.append(e)
    moved = valuable
    if not moved:
        return
    # Nobody to call (no chat to check in on, no calls allowed): schedule_callback would make
    # nothing for them either.
    ids = [e.member_id for e in moved]
    reachable: set[int] = set()
    if spec.channel is Channel.CHECKIN:
        reachable = set(await uow.chat_users.reachable_chats(ids))
    callable_: set[int] = set()
    if spec.channel is Channel.CALL or spec.fallback:
        callable_ = await uow.consents.allowed(ids, Purpose.CALLS)
    moved = [e for e in moved if e.member_id in reachable or e.member_id in callable_]
    if not moved:
        return
    ids = [e.member_id for e in moved]
    flagged = await uow.callbacks.flagged(ids)
    recent = await uow.callbacks.recent_for_members(
        ids, min(e.at for e in moved) - timedelta(days=rules.min_days_between)
    )
    people = await uow.callbacks.call_members(ids)
    zones = {store.id: store.timezone for store in await uow.stores.list()}
    for event in moved:
        who = people.get(event.member_id)
        if who is None:
            continue  # gone meanwhile: schedule_callback would make nothing
        since = event.at - timedelta(days=rules.min_days_between)
        known = KnownFacts(
            recent=[c for c in recent.get(event.member_id, []) if c.created_at >= since],
            calls_allowed=event.member_id in callable_ and event.member_id not in flagged,
            has_chat=event.member_id in reachable,
        )
        store_id = facts[event.member_id][1]
        tz = zones.get(store_id, policy.timezone) if store_id is not None else policy.timezone
        today = local_day(event.at, tz)
        await schedule_callback(
            uow, policy, member_id=event.member_id, rule=Rule.GONE_QUIET,
            due_at=max(local_due(today, rules, tz), event.at),
            dedupe_key=f"gone_quiet:{event.member_id}:{today.isoformat()}", now=event.at,
            context=event.new.value, known=known, member=who,
        )


async def schedule_new_members(
    uow: UnitOfWork, policy: Policy, now: datetime, run: CallbackRun
) -> None:
    """New members whose check-in day has come: `days` local days after the first purchase,
    at `due_time` in their store's zone, at most `new_member_grace_days` late."""
    rules = policy.callbacks
    spec = rules.rule(Rule.NEW_MEMBER)
    if not spec.enabled:
        return
    grace = timedelta(days=rules.new_member_grace_days)
    found = await uow.callbacks.new_members(
        now - timedelta(days=spec.days + 1) - grace, now - timedelta(days=spec.days - 1)
    )
    zones = {s.id: s.timezone for s in await uow.stores.list()}
    todo: list[tuple[Candidate, datetime]] = []
    for candidate in found:
        tz = zones.get(candidate.store_id, policy.timezone)
        due = new_member_due(candidate.due_at, spec.days, rules, tz)
        if due > now or due < now - grace:
            continue
        todo.append((candidate, due))
    people = await _members_of(uow, [c.member_id for c, _due in todo])
    for candidate, due in todo:
        who = people.get(candidate.member_id)
        if who is None:
            continue  # schedule_callback would make nothing for a member who is gone
        made = await schedule_callback(
            uow, policy, member_id=candidate.member_id, rule=Rule.NEW_MEMBER,
            due_at=max(due, now),
            dedupe_key=f"new_member:{candidate.member_id}", now=now,
            store_id=candidate.store_id, member=who,
        )
        if made is not None:
            run.add(Rule.NEW_MEMBER)


async def schedule_vips(uow: UnitOfWork, policy: Policy, now: datetime, run: CallbackRun) -> None:
    """Members of the top tier with no VIP callback in the rule's days, from their store's
    morning on."""
    rules = policy.callbacks
    spec = rules.rule(Rule.VIP)
    if not spec.enabled:
        return
    top = policy.tiers[-1].key
    zones = {s.id: s.timezone for s in await uow.stores.list()}
    todo: list[tuple[Candidate, datetime, str]] = []
    for candidate in await uow.callbacks.top_tier_members(top, now - timedelta(days=spec.days)):
        tz = zones.get(candidate.store_id, policy.timezone)
        today = local_day(now, tz)
        due = local_due(today, rules, tz)
        if due > now:
            continue  # too early in that store's day: a later run makes it
        todo.append((candidate, due, today.isoformat()))
    people = await _members_of(uow, [c.member_id for c, _due, _day in todo])
    for candidate, due, day in todo:
        who = people.get(candidate.member_id)
        if who is None:
            continue  # schedule_callback would make nothing for a member who is gone
        made = await schedule_callback(
            uow, policy, member_id=candidate.member_id, rule=Rule.VIP, due_at=max(due, now),
            dedupe_key=f"vip:{candidate.member_id}:{day}", now=now,
            store_id=candidate.store_id, member=who,
        )
        if made is not None:
            run.add(Rule.VIP)


async def _members_of(uow: UnitOfWork, member_ids: list[int]) -> dict[int, CallMember]:
    """The candidates' members in one read (none at all when there is no candidate)."""
    return await uow.callbacks.call_members(member_ids) if member_ids else {}


async def expire_checkin(
    uow: UnitOfWork, policy: Policy, callback_id: int, now: datetime, run: CallbackRun
) -> None:
    """A check-in nobody answered in time: into the call queue if the rule falls back and the
    member may be called, else closed as unanswered."""
    callback = await uow.callbacks.get(callback_id, lock=True)
    if (
        callback is None
        or callback.status is not CallbackStatus.CHECKIN
        or callback.checkin_until is None
        or callback.checkin_until > now
    ):
        return
    if not await _fall_back_or_close(uow, policy, callback, now, run, Outcome.NO_REPLY,
                                     note="check-in unanswered"):
        run.no_reply += 1


async def remind_overdue(
    uow: UnitOfWork, policy: Policy, desk: Desk, callback_id: int, now: datetime,
    run: CallbackRun,
) -> None:
    """An overdue call reminds its assignee (the staff group, or the managers, when nobody holds
    it), later the managers; each reminder once, by its dedupe key."""
    callback = await uow.callbacks.get(callback_id, lock=True)
    if callback is None or callback.status is not CallbackStatus.QUEUED:
        return
    stage = overdue_stage(callback, policy.callbacks, now)
    if stage is None:
        return
    assert callback.id is not None
    accounts = await uow.staff.list()
    params: dict[str, Any] = {
        "number": callback.number,
        "rule": _rule_names(callback.rule),
        "due": local_time(callback.due_at, policy.timezone),
    }
    key = f"callback:{callback.id}:overdue:{stage}"
    queued = False
    if stage == "assignee":
        assignee = next((s for s in accounts if s.id == callback.assignee_id and s.active), None)
        if assignee is not None:
            queued = await _to_staff_member(uow, policy, assignee, "callbacks.overdue", params,
                                            key, now)
        elif desk.staff_chat_id is not None:
            queued = await queue_to_chat(uow, desk.staff_chat_id, "callbacks.overdue", params,
                                         key, now, language=policy.tickets.staff_language)
    else:
        for manager in managers_else_admins(accounts, desk.admin_ids):
            queued |= await _to_staff_member(uow, policy, manager, "callbacks.overdue_managers",
                                             params, f"{key}:{manager.telegram_user_id}", now)
    callback.reminded = stage  # once, even with nobody to tell: it is not retried forever
    await uow.callbacks.save(callback)
    run.reminded += queued


def _rule_names(rule: Rule) -> dict[str, str]:
    """A rule's name in both languages, picked by the recipient's language when sent."""
    return {"en": RULE_NAMES_EN[rule], "zh": RULE_NAMES_ZH[rule]}


RULE_NAMES_EN = {
    Rule.COMPLAINT: "after a complaint", Rule.DETRACTOR: "after a low survey score",
    Rule.NEW_MEMBER: "new member", Rule.GONE_QUIET: "gone quiet", Rule.VIP: "VIP",
}
RULE_NAMES_ZH = {
    Rule.COMPLAINT: "投诉回访", Rule.DETRACTOR: "差评回访", Rule.NEW_MEMBER: "新会员回访",
    Rule.GONE_QUIET: "沉睡会员回访", Rule.VIP: "贵宾回访",
}


async def _to_staff_member(
    uow: UnitOfWork, policy: Policy, staff: StaffMember, key: str, params: dict[str, Any],
    dedupe: str, now: datetime,
) -> bool:
    return await queue_to_staff(
        uow, staff.telegram_user_id, key, params, dedupe, now,
        default_language=policy.tickets.staff_language,
    )


# -- the member's check-in -----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckinAnswer:
    """What became of a tap: "recorded", "already", "unknown" or "not_yours"."""

    status: str
    callback: Callback | None = None
    ticket_number: str | None = None


async def answer_checkin(
    uow: UnitOfWork,
    policy: Policy,
    callback_id: int,
    member: Member | None,
    outcome: Outcome,
    reason: Reason | None,
    now: datetime,
) -> CheckinAnswer:
    """The member's quick answer: all good, a problem (the desk opens a ticket), or why they
    went quiet. It counts even after the check-in fell back to the call queue (the call is no
    longer needed); a second tap changes nothing."""
    callback = await uow.callbacks.get(callback_id, lock=True)
    if callback is None:
        return CheckinAnswer("unknown")
    if member is None or callback.member_id != member.id:
        return CheckinAnswer("not_yours")
    if callback.channel is not Channel.CHECKIN:
        return CheckinAnswer("unknown")  # no check-in was sent for it: the data is made up
    if not callback.is_open:
        return CheckinAnswer("already", callback)
    final = Outcome.REASON if reason is not None else outcome
    callback.close(final, now, reason.value if reason else "")
    await uow.callbacks.save(callback)
    await _log(uow, callback, member_actor(member.id), final, now,
               reason=reason.value if reason else "")
    number = None
    if outcome is Outcome.PROBLEM:
        number = await _report_problem(uow, policy, callback, reason, now,
                                       "the member tapped \"I have a problem\"")
    return CheckinAnswer("recorded", callback, number)


async def _report_problem(
    uow: UnitOfWork, policy: Policy, callback: Callback, reason: Reason | None, now: datetime,
    how: str, note: str = "",
) -> str | None:
    """Tell the desk (it opens the ticket); the number of the member's newest active ticket."""
    assert callback.id is not None
    categories = [c.key for c in policy.tickets.categories]
    description = (
        f"Callback {callback.number} ({RULE_NAMES_EN[callback.rule]}"
        f"{', ' + callback.context if callback.context else ''}): {how}."
        + (f" {note}" if note else "")
    )
    await uow.record(
        CallbackProblemReported(
            at=now, callback_id=callback.id, member_id=callback.member_id,
            category=problem_category(callback, reason, categories),
            description=description, store_id=callback.store_id,
        )
    )
    active = await uow.tickets.active_for_member(callback.member_id)
    return active[0].number if active else None


# -- the staff's call queue -----------------------------------------------------------------------


def may_work(staff: StaffMember, callback: Callback) -> bool:
    return staff.may_work(callback.assignee_id)


async def load_call(uow: UnitOfWork, callback_id: int, staff: StaffMember) -> Callback:
    """An open call the staff member may work, locked; refused otherwise."""
    callback = await uow.callbacks.get(callback_id, lock=True)
    number = f"C-{callback_id}"
    if callback is None:
        raise CallbackRefused(f"there is no callback {callback_id}", key="callbacks.not_found",
                              number=number)
    if not callback.is_open:
        raise CallbackRefused(f"{number} is closed", key="callbacks.closed", number=number)
    if callback.status is not CallbackStatus.QUEUED:
        raise CallbackRefused(f"{number} waits for the member's answer",
                              key="callbacks.waiting_checkin", number=number)
    if not may_work(staff, callback):
        raise CallbackRefused(f"{number} is held by a colleague", key="callbacks.not_yours",
                              number=number)
    return callback


async def take_call(
    uow: UnitOfWork, callback_id: int, staff: StaffMember, now: datetime
) -> Callback:
    """The call is mine now; the audit records it."""
    callback = await load_call(uow, callback_id, staff)
    callback.assignee_id = staff.id
    await uow.callbacks.save(callback)
    await _audit(uow, staff_actor(staff), "callback.take", now, callback.member_id,
                 detail=callback.number)
    return callback


async def record_call(
    uow: UnitOfWork,
    policy: Policy,
    callback_id: int,
    staff: StaffMember,
    outcome: Outcome,
    now: datetime,
    *,
    call_again_at: datetime | None = None,
    note: str = "",
    actor: str | None = None,
) -> LogEntry:
    """One outcome of a call, one row in the log with who, when and what.

    All good and do-not-call close it; a problem closes it and the desk opens a ticket; no
    answer tries again after `retry_hours` until `max_attempts`, then closes it unreachable;
    a wrong number closes it and flags the phone for review; call again moves its due time.
    """
    callback = await load_call(uow, callback_id, staff)
    who = actor or staff_actor(staff)
    rules = policy.callbacks
    if callback.assignee_id is None:
        callback.assignee_id = staff.id
    if outcome is Outcome.CALL_AGAIN:
        if call_again_at is None or call_again_at <= now:
            raise CallbackRefused("call again needs a time in the future",
                                  key="callbacks.when_invalid")
        callback.due_at, callback.reminded = call_again_at, ""
    elif outcome is Outcome.NO_ANSWER:
        callback.attempts += 1
        retry = after_no_answer(callback, rules, now)
        if retry is not None:
            callback.due_at, callback.reminded = retry, ""
    elif outcome in (Outcome.ALL_GOOD, Outcome.PROBLEM, Outcome.WRONG_NUMBER,
                     Outcome.DO_NOT_CALL):
        callback.close(outcome, now)
    else:
        raise CallbackRefused(f"{outcome.value} is no call outcome", key="button.expired")
    entry = await _log(uow, callback, who, outcome, now, note=note,
                       call_again_at=call_again_at if outcome is Outcome.CALL_AGAIN else None)
    used_up = callback.attempts >= rules.max_attempts
    if outcome is Outcome.NO_ANSWER and callback.is_open and used_up:
        callback.close(Outcome.UNREACHABLE, now)
        await _log(uow, callback, SYSTEM, Outcome.UNREACHABLE, now,
                   note=f"no answer in {callback.attempts} calls")
    await uow.callbacks.save(callback)
    if outcome is Outcome.WRONG_NUMBER:
        await uow.callbacks.add_flag(callback.member_id, FlagKind.WRONG_NUMBER, now, staff.id)
        await _audit(uow, who, "member.phone_flagged", now, callback.member_id,
                     detail=f"wrong number on {callback.number}")
    if outcome is Outcome.DO_NOT_CALL:
        await uow.callbacks.add_flag(callback.member_id, FlagKind.DO_NOT_CALL, now, staff.id)
    if outcome is Outcome.PROBLEM:
        await _report_problem(uow, policy, callback, None, now,
                              "the member reported a problem on the phone", note)
    await _audit(uow, who, f"callback.{outcome.value}", now, callback.member_id,
                 detail=callback.number)
    return entry


async def note_call(
    uow: UnitOfWork, log_id: int, staff: StaffMember, note: str, now: datetime
) -> bool:
    """The optional note on an outcome just recorded."""
    text = " ".join(note.split())[:NOTE_MAX]
    if not text:
        return False
    done = await uow.callbacks.set_note(log_id, text)
    if done:
        await _audit(uow, staff_actor(staff), "callback.note", now, None, detail=f"log {log_id}")
    return done
