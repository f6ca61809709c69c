"""Satisfaction surveys at work: inviting members, taking their answers, acting on them.

Each function that takes a unit of work is one use case inside the caller's transaction: it
writes the invitation or the answer and queues the outbox rows that announce it, and the caller
commits. Who is asked and when is decided by the rules in domain.surveys.rules.

An invitation is an outbox row with score buttons (`sv:<invitation>:<score>:<check>`) and a
row in `survey_invitations` under the same dedupe key (`survey:receipt:R123`,
`survey:ticket:42`, `survey:segment:<label>:member:7`), so a rerun invites nobody twice.
Invitations are service messages by default (`[surveys] message_kind`): they ask about
something the member did, so they need no marketing consent and do not count towards the
marketing cap; but nobody asked for them at that moment, so they wait for the end of quiet
hours and are not sent to members who sent /stop. With `message_kind = "marketing"` they
also need consent and obey the weekly marketing cap.

The answer is stored with its trigger (receipt, ticket, segment), store, category and local
day and month, so the figures can be cut every way without joining the receipts or tickets.
A detractor's answer opens a complaint ticket tagged `survey` for the staff to call back; a
later comment joins that ticket's thread.

The survey after a closed ticket is the ticket's rating too: closing a ticket queues the
closing notice and this invitation (domain.tickets.services), and a CSAT answer to it is
recorded on the ticket (`rate_ticket`: its satisfaction, the audit, the note to the desk). One
question, one set of buttons, one place where the answers are counted.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from domain.messaging.model import MessageKind, OutboxMessage
from domain.messaging.rules import refusal_of_unasked
from domain.privacy.model import Purpose
from domain.shared.clock import local_day
from domain.shared.errors import InvalidInput
from domain.shared.outbox import queue_message, queue_to_chat
from domain.surveys.events import SurveyAnswered, SurveyCommented
from domain.surveys.model import (
    AnswerCount,
    AnswerOutcome,
    AnswerStatus,
    InvitationCount,
    InvitationRun,
    InvitationStatus,
    Mood,
    ReceiptDue,
    Scores,
    SurveyAnswer,
    SurveyInvitation,
    SurveyKind,
    Trigger,
    check_score,
    month_of,
)
from domain.surveys.rules import (
    may_invite,
    may_invite_after_ticket,
    new_token,
    receipt_key,
    sampled,
    score_buttons,
    segment_key,
    summarise_counts,
    ticket_key,
    weekly_key,
)
from domain.surveys.views import StoreBar, TrendPoint
from domain.tickets.events import RecoveryTicketOpened, TicketClosed

if TYPE_CHECKING:
    from domain.members.model import Member, Store
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork
    from domain.surveys.policy import SurveyDefinition
    from domain.surveys.ports import SurveyCharts

NO_STORE = "-"  # answers of members without a home store, asked by segment
TREND_MONTHS = 6
WEEKLY_COMMENTS = 5
COMMENT_SHOWN = 200


@dataclass
class SurveyReport:
    """The figures of a period, cut every way the report shows them."""

    day_from: date
    day_to: date
    timezone: str
    store_code: str | None
    cells: dict[tuple[str, str], Scores] = field(default_factory=dict)  # (store, month)
    by_store: dict[str, Scores] = field(default_factory=dict)
    by_month: dict[str, Scores] = field(default_factory=dict)
    by_category: dict[str, Scores] = field(default_factory=dict)
    total: Scores = field(default_factory=lambda: summarise_counts({}, 0))
    distribution: dict[SurveyKind, dict[int, int]] = field(default_factory=dict)
    store_names: dict[str, str] = field(default_factory=dict)  # code -> name

    nps_answers: dict[str, int] = field(default_factory=dict)  # month -> NPS answers
    csat_answers: dict[str, int] = field(default_factory=dict)  # store -> CSAT answers

    def trend(self) -> list[TrendPoint]:
        """NPS per month, every month of the period shown (empty ones as gaps)."""
        return [
            TrendPoint(
                month,
                self.by_month[month].nps if month in self.by_month else None,
                self.nps_answers.get(month, 0),
            )
            for month in months_between(self.day_from, self.day_to)
        ]

    def store_bars(self) -> list[StoreBar]:
        """CSAT per store, in store-code order."""
        bars = []
        for code in sorted(self.by_store):
            name = self.store_names.get(code, "")
            label = f"{code} {name}".strip() if code != NO_STORE else NO_STORE
            bars.append(
                StoreBar(label, self.by_store[code].csat_percent, self.csat_answers.get(code, 0))
            )
        return bars


def months_between(first: date, last: date) -> list[str]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


async def survey_report(
    uow: UnitOfWork,
    policy: Policy,
    day_from: date,
    day_to: date,
    store_code: str | None = None,
) -> SurveyReport:
    """The figures of the local days `day_from`..`day_to` (inclusive), optionally of one store."""
    if day_to < day_from:
        raise InvalidInput(f"the period ends ({day_to}) before it starts ({day_from})")
    stores = {s.id: s for s in await uow.stores.list() if s.id is not None}
    store_id = None
    if store_code:
        found = next((s for s in stores.values() if s.code == store_code.upper()), None)
        if found is None:
            raise InvalidInput(f"there is no store with the code {store_code.upper()}")
        store_id = found.id
    answers = await uow.surveys.answer_counts(day_from, day_to, store_id)
    invitations = await uow.surveys.invitation_counts(day_from, day_to, store_id)
    return build_report(
        answers, invitations, stores, day_from, day_to, policy.timezone,
        store_code.upper() if store_code else None,
    )


def _code(stores: Mapping[int, Store], store_id: int | None) -> str:
    store = stores.get(store_id) if store_id is not None else None
    return store.code if store else NO_STORE


def build_report(
    answers: Sequence[AnswerCount],
    invitations: Sequence[InvitationCount],
    stores: Mapping[int, Store],
    day_from: date,
    day_to: date,
    timezone: str,
    store_code: str | None = None,
) -> SurveyReport:
    """Roll the counted groups up into the report's cuts (plain arithmetic, no database)."""
    Counts = dict[tuple[SurveyKind, int], int]
    cell: dict[tuple[str, str], Counts] = defaultdict(lambda: defaultdict(int))
    store_c: dict[str, Counts] = defaultdict(lambda: defaultdict(int))
    month_c: dict[str, Counts] = defaultdict(lambda: defaultdict(int))
    category_c: dict[str, Counts] = defaultdict(lambda: defaultdict(int))
    total: Counts = defaultdict(int)
    distribution: dict[SurveyKind, dict[int, int]] = {
        kind: {score: 0 for score in kind.scale} for kind in SurveyKind
    }
    nps_answers: dict[str, int] = defaultdict(int)
    csat_answers: dict[str, int] = defaultdict(int)
    for row in answers:
        code = _code(stores, row.store_id)
        key = (row.kind, row.score)
        cell[(code, row.month)][key] += row.count
        store_c[code][key] += row.count
        month_c[row.month][key] += row.count
        category_c[row.category or "-"][key] += row.count
        total[key] += row.count
        distribution[row.kind][row.score] = distribution[row.kind].get(row.score, 0) + row.count
        if row.kind is SurveyKind.NPS:
            nps_answers[row.month] += row.count
        else:
            csat_answers[code] += row.count
    invited: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for inv in invitations:
        code = _code(stores, inv.store_id)
        for key2 in ((code, inv.month), (code, "*"), ("*", inv.month), ("*", "*")):
            invited[key2][0] += inv.invited
            invited[key2][1] += inv.answered

    def scores(counts: Mapping[tuple[SurveyKind, int], int], key2: tuple[str, str]) -> Scores:
        sent, answered = invited.get(key2, [0, 0])
        return summarise_counts(counts, sent, answered)

    keys = set(cell) | {k for k in invited if "*" not in k}
    report = SurveyReport(day_from, day_to, timezone, store_code)
    report.cells = {k: scores(cell.get(k, {}), k) for k in sorted(keys)}
    store_keys = set(store_c) | {k[0] for k in invited if k[0] != "*"}
    report.by_store = {c: scores(store_c.get(c, {}), (c, "*")) for c in sorted(store_keys)}
    month_keys = set(month_c) | {k[1] for k in invited if k[1] != "*"}
    report.by_month = {m: scores(month_c.get(m, {}), ("*", m)) for m in sorted(month_keys)}
    report.by_category = {
        c: summarise_counts(counts, 0) for c, counts in sorted(category_c.items())
    }
    report.total = scores(total, ("*", "*"))
    report.distribution = distribution
    report.store_names = {s.code: s.name for s in stores.values()}
    report.nps_answers = dict(nps_answers)
    report.csat_answers = dict(csat_answers)
    return report


# -- the weekly summary -----------------------------------------------------------------------


def previous_week(today: date) -> tuple[date, date]:
    """Monday to Sunday of the week before the one `today` is in."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def figure(value: float | None, suffix: str = "") -> str:
    """'87.5 %', '+12', or '—' when there is nothing to divide by."""
    if value is None:
        return "—"
    if suffix:
        return f"{value:.1f}{suffix}"
    return f"{value:+.0f}"


async def queue_weekly_summary(
    uow: UnitOfWork,
    policy: Policy,
    staff_chat_id: str | None,
    charts: SurveyCharts | None,
    now: datetime,
) -> str:
    """Last week's figures, the NPS trend chart and the lowest-scored comments, queued for the
    staff group once per week (the dedupe key names the ISO week). Returns what it did."""
    if not staff_chat_id:
        return "no staff chat (STAFF_CHAT_ID): nothing to post"
    week_from, week_to = previous_week(local_day(now, policy.timezone))
    key = weekly_key(week_from)
    if await uow.outbox.get_by_dedupe_key(key) is not None:
        return f"the summary of {week_from}..{week_to} was queued before"
    week = await survey_report(uow, policy, week_from, week_to)
    trend_from = _months_back(week_to, TREND_MONTHS - 1)
    trend = await survey_report(uow, policy, trend_from, week_to)
    comments = await uow.surveys.lowest_comments(week_from, week_to, WEEKLY_COMMENTS)
    photo = None
    if charts is not None:
        photo = charts.nps_trend(
            trend.trend(), f"NPS by month, {month_of(trend_from)} to {month_of(week_to)}"
        )
    total = week.total
    lines = [
        f"• {c.score}/{5 if c.kind is SurveyKind.CSAT else 10} {c.kind.value.upper()} · "
        f"{c.store_code or NO_STORE} · {c.member_no}: “{_short(c.comment)}”"
        for c in comments
    ]
    await queue_to_chat(
        uow,
        staff_chat_id,
        "surveys.weekly",
        {
            "week_from": week_from.isoformat(),
            "week_to": week_to.isoformat(),
            "answers": total.answers,
            "invited": total.invited,
            "response_rate": figure(total.response_rate, " %"),
            "csat": figure(total.csat_percent, " %"),
            "nps": figure(total.nps),
            "comments": "\n".join(lines) or "—",
        },
        key,
        now,
        language=policy.tickets.staff_language,
        photo=photo,
    )
    return f"summary of {week_from}..{week_to} queued: {total.answers} answers"


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= COMMENT_SHOWN else flat[: COMMENT_SHOWN - 1] + "…"

log = logging.getLogger(__name__)

COMMENT_MAX = 1000
INVITE = "surveys.invite"  # the invitation's message key
PURCHASE_CATEGORY = "purchase"


# -- inviting ---------------------------------------------------------------------------------


def _message_kind(policy: Policy, kind: MessageKind | None) -> MessageKind:
    return kind or MessageKind(policy.surveys.message_kind)


def _question(
    definition: SurveyDefinition, policy: Policy, store: Store | None, ticket_number: str
) -> dict[str, str]:
    values = {
        "store": store.name if store else policy.chain_name,
        "chain": policy.chain_name,
        "ticket": ticket_number,
    }
    return {
        "en": definition.question("en").format(**values),
        "zh": definition.question("zh").format(**values),
    }


def _reachable(member: Member | None, kind: MessageKind) -> bool:
    """Whether the member may be asked at all: /stop ends unasked-for messages, and a marketing
    survey needs consent (the messaging rules decide; a "no" to surveys is read in `_invite`)."""
    return member is not None and _refusal(member, kind) is None


def _refusal(
    member: Member, kind: MessageKind, refused: Collection[Purpose] = ()
) -> str | None:
    """Why the messaging rules leave the member without an invitation of `kind`, or None;
    `refused`: the purposes the member said no to, as far as the caller has read them."""
    return refusal_of_unasked(
        kind,
        INVITE,
        opted_out_at=member.opted_out_at,
        marketing_consent=member.marketing_consent,
        refused=refused,
    )


async def _invite(
    uow: UnitOfWork,
    policy: Policy,
    member: Member,
    definition: SurveyDefinition,
    *,
    trigger: Trigger,
    trigger_ref: str,
    dedupe_key: str,
    category: str,
    store: Store | None,
    now: datetime,
    kind: MessageKind | None = None,
    ticket_number: str = "",
) -> SurveyInvitation | None:
    """Write the invitation and its outbox row; None when the member has no chat we can reach
    or the dedupe key was used before, or the messaging rules leave the member out (a "no" to
    surveys in /privacy; /stop and a marketing survey's consent, which callers ask first)."""
    assert member.id is not None
    allowed = await uow.consents.allowed([member.id], Purpose.SURVEYS)
    said_no = () if member.id in allowed else (Purpose.SURVEYS,)
    if _refusal(member, _message_kind(policy, kind), said_no) is not None:
        return None
    chats = await uow.chat_users.reachable_chats([member.id])
    chat = chats.get(member.id)
    if chat is None:
        return None
    invitation = await uow.surveys.add_invitation(
        SurveyInvitation(
            member_id=member.id,
            survey_key=definition.key,
            kind=definition.kind,
            trigger=trigger,
            trigger_ref=trigger_ref,
            dedupe_key=dedupe_key,
            token=new_token(),
            created_at=now,
            expires_at=now + timedelta(days=policy.surveys.expire_days),
            day=local_day(now, policy.timezone),
            store_id=store.id if store else None,
            category=category,
            chat_user_id=chat.chat_user_id,
        )
    )
    if invitation is None or invitation.id is None:
        return None
    await queue_message(
        uow,
        OutboxMessage(
            dedupe_key=dedupe_key,
            chat_id=chat.chat_id,
            chat_user_id=chat.chat_user_id,
            member_id=member.id,
            kind=_message_kind(policy, kind),
            message_key=INVITE,
            params={"question": _question(definition, policy, store, ticket_number)},
            buttons=score_buttons(definition.kind, invitation.id, invitation.token),
            quiet_hours=True,  # nobody asked for it now: never at night
        ),
        now,
    )
    return invitation


async def due_purchase_invitations(
    uow: UnitOfWork, policy: Policy, now: datetime
) -> tuple[SurveyDefinition | None, list[ReceiptDue]]:
    """The survey asked after purchases and the sampled receipts due by `now`, one per member.

    A receipt is due `purchase_delay_hours` after it was made and stays due until
    `purchase_max_age_hours`, so a receipt imported late (a nightly file) is still asked about
    while the visit is fresh, and never after. The sample is a hash of the receipt number: the
    same receipts are picked on every run.
    """
    rules = policy.surveys
    definition = rules.survey(rules.after_purchase) if rules.after_purchase else None
    if definition is None or rules.purchase_sample_percent <= 0:
        return None, []
    until = now - timedelta(hours=rules.purchase_delay_hours)
    since = now - timedelta(hours=rules.purchase_max_age_hours)
    recent = await uow.surveys.receipts_between(since, until)
    picked = [r for r in recent if sampled(r.receipt_no, rules.purchase_sample_percent)]
    # One invitation per member per run: the first purchase counts.
    first: dict[int, ReceiptDue] = {}
    for receipt in sorted(picked, key=lambda r: (r.occurred_at, r.receipt_no)):
        first.setdefault(receipt.member_id, receipt)
    return definition, list(first.values())


async def invite_receipts(
    uow: UnitOfWork,
    policy: Policy,
    definition: SurveyDefinition,
    receipts: Sequence[ReceiptDue],
    now: datetime,
) -> InvitationRun:
    """Invite the members of these due receipts (see `due_purchase_invitations`), unless asked
    recently, unreachable, or asked about that receipt before."""
    run = InvitationRun(considered=len(receipts))
    done = await uow.surveys.existing_keys([receipt_key(r.receipt_no) for r in receipts])
    fresh = [r for r in receipts if receipt_key(r.receipt_no) not in done]
    run.repeated = len(receipts) - len(fresh)
    last = await uow.surveys.last_invited([r.member_id for r in fresh])
    stores = {s.id: s for s in await uow.stores.list()}
    kind = _message_kind(policy, None)
    for receipt in fresh:
        if not may_invite(last.get(receipt.member_id), now, policy.surveys):
            run.limited += 1
            continue
        member = await uow.members.get(receipt.member_id)
        if not _reachable(member, kind):
            run.unreachable += 1
            continue
        assert member is not None
        invitation = await _invite(
            uow,
            policy,
            member,
            definition,
            trigger=Trigger.RECEIPT,
            trigger_ref=receipt.receipt_no,
            dedupe_key=receipt_key(receipt.receipt_no),
            category=PURCHASE_CATEGORY,
            store=stores.get(receipt.store_id),
            now=now,
        )
        if invitation is None:
            run.unreachable += 1
            continue
        run.invited += 1
        run.members.append(receipt.member_id)
    return run


async def invite_after_ticket(
    uow: UnitOfWork, policy: Policy, ticket: TicketClosed, now: datetime
) -> SurveyInvitation | None:
    """Ask how a closed complaint was handled, in the transaction that closed it.

    Always asked, unless the member answered a survey in the last `min_days_between` days or
    the policy asks nothing after tickets; None when not invited.
    """
    rules = policy.surveys
    definition = rules.survey(rules.after_ticket) if rules.after_ticket else None
    if definition is None:
        return None
    if "survey" in ticket.tags:
        return None  # a call-back about a survey answer is not asked about in turn
    answered = await uow.surveys.last_answered([ticket.member_id])
    if not may_invite_after_ticket(answered.get(ticket.member_id), now, rules):
        return None
    member = await uow.members.get(ticket.member_id)
    if not _reachable(member, _message_kind(policy, None)):
        return None
    assert member is not None
    store = await uow.stores.get(ticket.store_id) if ticket.store_id is not None else None
    return await _invite(
        uow,
        policy,
        member,
        definition,
        trigger=Trigger.TICKET,
        trigger_ref=str(ticket.ticket_id),
        dedupe_key=ticket_key(ticket.ticket_id),
        category=ticket.category,
        store=store,
        now=now,
        ticket_number=ticket.number,
    )


async def invite_segment(
    uow: UnitOfWork,
    policy: Policy,
    member_ids: Iterable[int],
    survey_key: str,
    now: datetime,
    *,
    label: str,
    kind: MessageKind | None = None,
) -> InvitationRun:
    """Invite a segment (a campaign's target, an operator's list) to a survey, in the caller's
    transaction; the frequency limit holds, and a member is invited once per `label`.

    The store of each invitation is the member's home store, so the figures of a segment are
    cut by store like the others.
    """
    definition = policy.surveys.survey(survey_key)
    if definition is None:
        known = ", ".join(s.key for s in policy.surveys.surveys)
        raise LookupError(f"there is no survey {survey_key!r}; the surveys are: {known}")
    if not label or len(label) > 64 or ":" in label:
        raise ValueError(f"a segment label is 1-64 characters without ':', not {label!r}")
    ids = sorted(set(member_ids))
    run = InvitationRun(considered=len(ids))
    message_kind = _message_kind(policy, kind)
    done = await uow.surveys.existing_keys([segment_key(label, i) for i in ids])
    last = await uow.surveys.last_invited(ids)
    stores = {s.id: s for s in await uow.stores.list()}
    for member_id in ids:
        if segment_key(label, member_id) in done:
            run.repeated += 1
            continue
        if not may_invite(last.get(member_id), now, policy.surveys):
            run.limited += 1
            continue
        member = await uow.members.get(member_id)
        if not _reachable(member, message_kind):
            run.unreachable += 1
            continue
        assert member is not None
        store = stores.get(member.home_store_id) if member.home_store_id is not None else None
        invitation = await _invite(
            uow,
            policy,
            member,
            definition,
            trigger=Trigger.SEGMENT,
            trigger_ref=label,
            dedupe_key=segment_key(label, member_id),
            category=label,
            store=store,
            now=now,
            kind=message_kind,
        )
        if invitation is None:
            run.unreachable += 1
            continue
        run.invited += 1
        run.members.append(member_id)
    return run


async def answer_survey(
    uow: UnitOfWork,
    policy: Policy,
    invitation_id: int,
    score: int,
    token: str,
    member: Member | None,
    now: datetime,
) -> AnswerOutcome:
    """Record a score once, for the member it was asked of; refuse everything else politely.

    Of two taps at the same moment (two workers), the conditional update lets one through; the
    other finds the invitation answered. A detractor's answer opens the call-back ticket here,
    in the same transaction, so no answer is left without one.
    """
    invitation = await uow.surveys.get_invitation(invitation_id)
    if invitation is None:
        return AnswerOutcome(AnswerStatus.UNKNOWN)
    if member is None or member.id != invitation.member_id or token != invitation.token:
        log.warning("refused survey button for invitation %s: not the member's", invitation_id)
        return AnswerOutcome(AnswerStatus.NOT_YOURS)
    definition = policy.surveys.survey(invitation.survey_key)
    if invitation.status is InvitationStatus.ANSWERED:
        return AnswerOutcome(AnswerStatus.ALREADY, invitation, definition=definition)
    if invitation.expired(now):
        return AnswerOutcome(AnswerStatus.EXPIRED, invitation, definition=definition)
    try:
        check_score(invitation.kind, score)
    except ValueError:
        return AnswerOutcome(AnswerStatus.NOT_YOURS, invitation)
    if not await uow.surveys.mark_answered(invitation_id, now):
        return AnswerOutcome(AnswerStatus.ALREADY, invitation, definition=definition)
    assert invitation.id is not None
    answer = await uow.surveys.add_answer(
        SurveyAnswer(
            invitation_id=invitation.id,
            member_id=invitation.member_id,
            survey_key=invitation.survey_key,
            kind=invitation.kind,
            score=score,
            trigger=invitation.trigger,
            trigger_ref=invitation.trigger_ref,
            category=invitation.category,
            answered_at=now,
            day=local_day(now, policy.timezone),
            store_id=invitation.store_id,
        )
    )
    invitation.status, invitation.answered_at = InvitationStatus.ANSWERED, now
    assert answer.id is not None
    recovery = answer.mood is Mood.DETRACTOR and policy.surveys.recovery
    store = None
    if recovery and answer.store_id is not None:
        store = await uow.stores.get(answer.store_id)
    await uow.record(
        SurveyAnswered(
            at=now,
            answer_id=answer.id,
            member_id=answer.member_id,
            kind=answer.kind,
            score=score,
            trigger=answer.trigger,
            trigger_ref=answer.trigger_ref,
            store_id=answer.store_id,
            recovery=recovery,
            recovery_category=policy.surveys.recovery_category,
            recovery_description=(
                _recovery_description(answer, store, policy.tickets.staff_language)
                if recovery else ""
            ),
        )
    )
    number = None
    for event in uow.recorded:
        if isinstance(event, RecoveryTicketOpened) and event.answer_id == answer.id:
            answer.recovery_ticket_id, number = event.ticket_id, event.number
    return AnswerOutcome(AnswerStatus.RECORDED, invitation, answer, definition, number)


async def comment_on_answer(
    uow: UnitOfWork,
    policy: Policy,
    invitation_id: int,
    member: Member,
    text: str,
    now: datetime,
) -> SurveyAnswer | None:
    """Keep the member's comment on their answer (once) and pass it to the call-back ticket."""
    answer = await uow.surveys.get_answer(invitation_id)
    if answer is None or answer.id is None or answer.member_id != member.id:
        return None
    if answer.comment is not None:
        return answer  # the first comment stands; a later message is ordinary chat
    comment = " ".join(text.split())[:COMMENT_MAX]
    if not comment:
        return None
    await uow.surveys.save_comment(answer.id, comment, now)
    answer.comment, answer.commented_at = comment, now
    assert member.id is not None
    await uow.record(
        SurveyCommented(
            at=now,
            answer_id=answer.id,
            member_id=member.id,
            comment=comment,
            recovery_ticket_id=answer.recovery_ticket_id,
        )
    )
    return answer


# -- acting on answers ------------------------------------------------------------------------


def _recovery_description(answer: SurveyAnswer, store: Store | None, lang: str) -> str:
    scale = "1-5" if answer.kind is SurveyKind.CSAT else "0-10"
    where = f"{store.code} {store.name}" if store else "-"
    labels = {
        "en": ("Survey answer", "after", "store", "score", "Please call the member back."),
        "zh": ("满意度调查", "来源", "门店", "评分", "请致电会员回访。"),
    }
    title, after, at, score, ask = labels["zh" if lang == "zh" else "en"]
    source = f"{answer.trigger.value} {answer.trigger_ref}"
    return (
        f"📋 {title} ({answer.kind.value.upper()} {answer.survey_key}): "
        f"{score} {answer.score} ({scale}); {after}: {source}; {at}: {where}. {ask}"
    )


# -- reacting to other features ---------------------------------------------------------------


async def when_ticket_closed(uow: UnitOfWork, event: TicketClosed, *, policy: Policy) -> None:
    """A closed complaint is asked about: the survey after tickets (its answer rates it)."""
    await invite_after_ticket(uow, policy, event, event.at)


async def when_recovery_ticket_opened(uow: UnitOfWork, event: RecoveryTicketOpened) -> None:
    """Remember the call-back ticket on the answer, so a later comment reaches it."""
    await uow.surveys.set_recovery_ticket(event.answer_id, event.ticket_id)
