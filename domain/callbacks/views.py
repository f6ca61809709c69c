"""What staff and managers look at: the call queue, a call's card with the member's profile,
and the callbacks report with its observational repurchase comparison."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from domain.callbacks.model import REACHED, Callback, CallbackStatus, LogEntry, Outcome
from domain.callbacks.services import load_call
from domain.privacy.model import Purpose
from domain.shared.phones import mask_phone
from domain.tickets.model import AuditEntry
from domain.tickets.rules import sees_personal_data, staff_actor

if TYPE_CHECKING:
    from domain.loyalty.model import Receipt
    from domain.members.model import Member, Store
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork
    from domain.staff.model import StaffMember
    from domain.tickets.model import Ticket

RECENT_RECEIPTS = 5
OPEN_TICKETS = 5
LAST_CALLBACKS = 5
# Outcomes where the member could not be reached: the comparison group of the report.
NOT_REACHED = frozenset({Outcome.UNREACHABLE, Outcome.NO_REPLY, Outcome.WRONG_NUMBER})


@dataclass(frozen=True)
class QueueLine:
    callback: Callback
    member: Member | None


async def call_queue(
    uow: UnitOfWork, staff: StaffMember, now: datetime, limit: int
) -> list[QueueLine]:
    """My due calls and the unassigned ones, the most overdue first (managers see every due
    call held by nobody or by them, like agents: the queue is for calling, not supervising)."""
    calls = await uow.callbacks.call_queue(staff.id, now, limit)
    # A member who withdrew their consent to calls after the call was queued is not shown.
    allowed = await uow.consents.allowed({c.member_id for c in calls}, Purpose.CALLS)
    return [
        QueueLine(c, await uow.members.get(c.member_id)) for c in calls if c.member_id in allowed
    ]


@dataclass(frozen=True)
class CallCard:
    """A call as its caller sees it; `full` says whether the phone is shown in full."""

    callback: Callback
    member: Member
    full: bool
    receipts: list[Receipt]
    open_tickets: list[Ticket]
    history: list[LogEntry]
    stores: dict[int, Store] = field(default_factory=dict)

    @property
    def phone(self) -> str:
        phone = self.member.phone or ""
        if not phone:
            return "-"
        return phone if self.full else mask_phone(phone)


async def call_card(
    uow: UnitOfWork, callback_id: int, staff: StaffMember, *, private_chat: bool, now: datetime
) -> CallCard:
    """The member's profile for the call; looking at it (and at the phone) is audited."""
    callback = await load_call(uow, callback_id, staff)
    member = await uow.members.get(callback.member_id)
    if member is None or member.id is None:
        raise LookupError(f"callback {callback_id} names no member")
    full = sees_personal_data(staff, private_chat)
    card = CallCard(
        callback=callback,
        member=member,
        full=full,
        receipts=await uow.receipts.recent_for_member(member.id, RECENT_RECEIPTS),
        open_tickets=(await uow.tickets.active_for_member(member.id))[:OPEN_TICKETS],
        history=[e for e in await uow.callbacks.log_for_member(member.id, LAST_CALLBACKS + 5)
                 if e.callback_id != callback_id][:LAST_CALLBACKS],
        stores={s.id: s for s in await uow.stores.list() if s.id is not None},
    )
    await uow.audit.add(AuditEntry(
        actor=staff_actor(staff), action="member.view", at=now, member_id=member.id,
        detail=f"from call {callback.number}: member data " + ("in full" if full else "masked"),
    ))
    if full and member.phone:
        await uow.audit.add(AuditEntry(
            actor=staff_actor(staff), action="member.phone_view", at=now, member_id=member.id,
            detail=f"from call {callback.number}",
        ))
    return card


# -- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Repurchase:
    """Members who bought again within the window after the callback, reached or not."""

    reached: int
    reached_bought: int
    not_reached: int
    not_reached_bought: int

    @staticmethod
    def share(bought: int, total: int) -> float | None:
        return bought / total if total else None


@dataclass
class CallbackReport:
    day_from: date
    day_to: date
    timezone: str
    store_code: str | None
    due: int = 0
    done: int = 0
    done_on_time: int = 0
    overdue: int = 0  # open and past due now, or closed later than on time
    open: int = 0
    reached: int = 0
    closed: int = 0
    problems: int = 0
    by_rule: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_reason: Counter[str] = field(default_factory=Counter)
    by_staff: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    repurchase: dict[str, Repurchase] = field(default_factory=dict)
    repurchase_days: int = 30

    @property
    def reach_rate(self) -> float | None:
        return self.reached / self.closed if self.closed else None


async def callback_report(
    uow: UnitOfWork, policy: Policy, day_from: date, day_to: date, store_code: str | None,
    now: datetime,
) -> CallbackReport:
    """Callbacks due in [day_from, day_to] (days of the chain's time zone), one store or all.

    The repurchase comparison is observational: members who were reached are compared with
    members the same rule selected but who could not be reached; who answers the phone is not
    random, so the difference is not the effect of the call.
    """
    tz = ZoneInfo(policy.timezone)
    store_id = None
    if store_code:
        store = await uow.stores.get_by_code(store_code)
        if store is None:
            raise LookupError(f"there is no store {store_code!r}")
        store_id = store.id
    start = datetime.combine(day_from, time(0), tzinfo=tz)
    end = datetime.combine(day_to + timedelta(days=1), time(0), tzinfo=tz)
    rows = await uow.callbacks.report_rows(start, end, store_id)
    rules = policy.callbacks
    report = CallbackReport(day_from, day_to, policy.timezone, store_code,
                            repurchase_days=rules.repurchase_days)
    on_time = timedelta(hours=rules.on_time_hours)
    staff_names = {
        staff_actor(s): s.shown_name for s in await uow.staff.list()
    }
    groups: dict[str, list[tuple[int, datetime, bool]]] = defaultdict(list)
    for row in rows:
        report.due += 1
        if row.status is not CallbackStatus.DONE or row.outcome is None:
            report.open += 1
            if row.due_at + on_time < now:
                report.overdue += 1
            continue
        if row.outcome is Outcome.SUPERSEDED:
            report.by_rule[row.rule.value][row.outcome.value] += 1
            continue
        report.done += 1
        report.closed += 1
        assert row.closed_at is not None
        if row.closed_at <= row.due_at + on_time:
            report.done_on_time += 1
        else:
            report.overdue += 1
        reached = row.outcome in REACHED
        report.reached += reached
        report.problems += row.outcome is Outcome.PROBLEM
        report.by_rule[row.rule.value][row.outcome.value] += 1
        if row.reason:
            report.by_reason[row.reason] += 1
        if row.closed_by.startswith("member:"):
            who = "(bot check-in)"
        else:  # a staff member by name, "cli" (a call list recorded), "system"
            who = staff_names.get(row.closed_by, row.closed_by or "system")
        report.by_staff[who][row.outcome.value] += 1
        if reached or row.outcome in NOT_REACHED:
            groups[row.rule.value].append((row.member_id, row.closed_at, reached))
    report.repurchase = await _repurchase(uow, groups, rules.repurchase_days, now)
    return report


async def _repurchase(
    uow: UnitOfWork, groups: dict[str, list[tuple[int, datetime, bool]]], days: int,
    now: datetime,
) -> dict[str, Repurchase]:
    """Per rule: of the callbacks whose window is over, who bought within `days` after it."""
    window = timedelta(days=days)
    done = {rule: [g for g in items if g[1] + window <= now] for rule, items in groups.items()}
    everyone = [g for items in done.values() for g in items]
    if not everyone:
        return {}
    start = min(g[1] for g in everyone)
    end = max(g[1] for g in everyone) + window
    bought = await uow.callbacks.purchases_after({g[0] for g in everyone}, start, end)
    result: dict[str, Repurchase] = {}
    for rule in sorted(done):
        counts = [0, 0, 0, 0]
        for member_id, at, reached in done[rule]:
            again = any(at < when <= at + window for when, _ in bought.get(member_id, []))
            slot = 0 if reached else 2
            counts[slot] += 1
            counts[slot + 1] += again
        result[rule] = Repurchase(*counts)
    return result
