"""A year of the demo chain's life, played through the product's own use cases and jobs.

bot.demo imports members and receipts; this module then moves a FixedClock through the year
behind them, twice a day (noon and one minute before midnight in the chain's time zone), and at
each tick does what the shop and its members would have done by then, in time order: the
scheduled jobs (survey invitations after purchases, birthday gifts, ticket follow-ups with
their SLA warnings, callbacks), members answering surveys and complaining, staff replying,
noting, resolving and calling back, coupons redeemed at the till, two campaigns with a control
group and a third left as a draft, and a segments refresh at the end.

Everything is drawn from random.Random(seed), and the clock starts from the same midnight
anchor as the receipts, so the same seed gives the same year. Nothing here writes a table
directly: rows come from the services and jobs a real chain runs. The outbox rows the past
produced are marked sent at the time they were due, as a finished past looks, so a real bot
started on the demo database does not send a year of messages at once.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from bot.cli.imports import import_records
from bot.cli.progress import Progress
from domain.callbacks import services as callbacks
from domain.callbacks.model import Outcome
from domain.campaigns import services as campaigns
from domain.campaigns.model import Group
from domain.campaigns.rules import spec_from_mapping
from domain.coupons import services as coupons
from domain.coupons.model import Redeemer
from domain.members.model import ChatUser
from domain.members.services import link_by_phone
from domain.shared.clock import FixedClock
from domain.shared.errors import DomainError
from domain.staff.model import Role, StaffMember
from domain.surveys import services as surveys
from domain.tickets import services as tickets
from domain.tickets.model import Priority, StaffAction
from scheduler.jobs.callbacks import run_callbacks
from scheduler.jobs.campaigns import send_wave
from scheduler.jobs.coupons import issue_birthday_gifts
from scheduler.jobs.segments import refresh_segments
from scheduler.jobs.surveys import invite_after_purchases
from scheduler.jobs.tickets import follow_up_tickets

if TYPE_CHECKING:
    from bot.bootstrap import App
    from domain.members.model import Member, Store
    from domain.shared.ports import UnitOfWork
    from domain.tickets.model import Ticket

T = TypeVar("T")

# Telegram ids of the demo staff: print them so a person can log in with --staff --as ID.
STAFF = (
    ("9100001", Role.ADMIN, "Demo Admin"),
    ("9100002", Role.MANAGER, "Demo Manager"),
    ("9100003", Role.AGENT, "Demo Agent A"),
    ("9100004", Role.AGENT, "Demo Agent B"),
)
CHAT_SHARE = 0.8  # members who linked a chat account in the year
MAX_LIVING = 3000  # at most this many of them live the year through the chat
CHAT_ID_BASE = 8_000_000_000  # demo chat accounts: far from real staff ids above
TICKS = ((12, 0), (23, 59))  # chain-local times of day the clock stops at
ANSWER_SHARE = 0.45  # invitations answered
BAD_MONTH_BACK = 4  # UR01's bad month: this many months before the anchor
CAMPAIGN_DAYS_BACK = (70, 40)  # the campaign that works, and the one that did not
DRAFT_DAYS_BACK = 2
UPLIFT_BUY_SHARE = 0.6  # treated members of the first campaign who came back for it
REDEEM_SHARE = 0.4  # birthday coupons used
OPEN_AT_END_DAYS = 6  # tickets and calls of the last days are left for the desk's queue
CALLS_PER_EVENING = 40  # what two agents get through; a big chain's list stays longer

COMPLAINTS = (
    ("quality", "The milk I bought was sour before its date."),
    ("service", "收银员态度不好，排队很久也没人帮忙。"),
    ("billing", "I was charged twice for the same item."),
    ("delivery", "配送迟到了两个小时，冷冻食品都化了。"),
    ("other", "The car park was closed without notice."),
    ("quality", "面包里有异物，请处理。"),
    ("billing", "The promotion price was not applied at the till."),
)
REPLIES = (
    "Sorry about this. We have refunded the amount to your card.",
    "非常抱歉，我们已联系门店主管处理。",
    "Thank you for telling us; the store manager will call you today.",
)
NOTES = ("Checked the till log: double scan confirmed.", "门店已回复，正在核实。")


@dataclass
class Life:
    """What the year produced, for the demo's summary."""

    linked: int = 0
    invitations: int = 0
    answers: int = 0
    tickets: int = 0
    replies: int = 0
    resolved: int = 0
    reopened: int = 0
    rated: int = 0
    sla_warnings: int = 0
    sla_breaches: int = 0
    birthday_coupons: int = 0
    redeemed: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    campaigns: list[int] = field(default_factory=list)
    extra_receipts: int = 0
    refused: int = 0  # a step the product refused (counted, never hidden)
    refusals: Counter[str] = field(default_factory=Counter)
    marked_sent: int = 0
    staff: list[tuple[str, str]] = field(default_factory=list)


class _Agenda:
    """Actions due at moments in the simulated year, run in time order."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Callable[[datetime], Awaitable[None]]]] = []
        self._seq = itertools.count()

    def at(self, when: datetime, action: Callable[[datetime], Awaitable[None]]) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), action))

    async def run_until(self, now: datetime) -> None:
        for _ in range(1_000_000):  # bounded: every action is popped once
            if not self._heap or self._heap[0][0] > now:
                return
            when, _seq, action = heapq.heappop(self._heap)
            await action(when)


async def live_a_year(
    app: App,
    *,
    seed: int,
    anchor: datetime,
    member_nos: list[str],
    progress: bool,
    rest: Callable[[], Awaitable[None]] | None = None,
) -> Life:
    """Play the year up to `anchor` (the chain's midnight today) for these members; `rest`
    (a big chain's other members and receipts) runs after the year and before the last
    segments refresh, so the segments cover everyone."""
    return await _Year(app, seed, anchor, member_nos).play(progress, rest)


class _Year:
    def __init__(self, app: App, seed: int, anchor: datetime, member_nos: list[str]) -> None:
        self.app = app
        self.policy = app.policy
        self.desk = app.conversation.deps.desk
        self.seed = seed
        self.anchor = anchor
        self.start = anchor - timedelta(days=365)
        self.member_nos = member_nos
        self.rng = random.Random(seed * 7919 + 15)
        self.agenda = _Agenda()
        self.life = Life()
        self.clock = FixedClock(self.start)
        self.staff: dict[Role, list[StaffMember]] = {}
        self.stores: dict[int, Store] = {}
        self.members: list[int] = []  # linked members' ids
        self.zone = ZoneInfo(self.policy.timezone)
        self.breached = False
        self.outbox_before = 0
        bad = anchor.astimezone(self.zone).replace(day=1) - timedelta(days=1)
        for _ in range(BAD_MONTH_BACK - 1):
            bad = bad.replace(day=1) - timedelta(days=1)
        self.bad_month = _month(bad, self.zone)

    async def tx(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        async with self.app.uow_factory() as uow:
            result = await work(uow)
            await uow.commit()
        return result

    async def step(self, work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
        """One action in its own transaction; a refusal is counted and changes nothing."""
        try:
            return await self.tx(work)
        except (DomainError, LookupError, ValueError) as exc:
            self.life.refused += 1
            self.life.refusals[f"{type(exc).__name__}: {getattr(exc, 'key', '')}"] += 1
            return None

    # --- the year ------------------------------------------------------------------------

    async def play(self, progress: bool, rest: Callable[[], Awaitable[None]] | None) -> Life:
        self.outbox_before = await self._outbox_high_water()
        await self._hire_staff()
        await self._link_chats()
        days = (self.anchor - self.start).days
        with Progress("demo: a year of the chain's life", days, enabled=progress) as meter:
            for day in range(days):
                midnight = self.start + timedelta(days=day)
                for hour, minute in TICKS:
                    now = midnight + timedelta(hours=hour, minutes=minute)
                    await self._tick(now, days - day)
                meter.advance(1)
        await self.agenda.run_until(self.anchor)
        self.clock.set(self.anchor)
        if rest is not None:
            await rest()
        with Progress("demo: segments refreshed", 1, enabled=progress) as meter:
            await refresh_segments(self.app.uow_factory, self.policy, self.anchor)
            meter.advance(1)
        await self._draft_campaign(self.anchor - timedelta(hours=1))
        self.life.marked_sent += await self._finish_outbox()
        return self.life

    async def _tick(self, now: datetime, days_left: int) -> None:
        await self.agenda.run_until(now)
        self.clock.set(now)
        local = now.astimezone(self.zone)
        if local.hour == 12:
            # New-member calls are looked for in a window five days wide: every fifth day
            # finds them all, at a fifth of the cost.
            if days_left % 5 == 0:
                await run_callbacks(self.app.uow_factory, self.policy, self.desk, now)
            await self._follow_up(now)
            if local.day == 1:
                await self._nps_wave(now)
                await self._answer_new_invitations(now)
            if local.weekday() in (1, 4):
                await self._complaints(now)
            if days_left in CAMPAIGN_DAYS_BACK:
                await self._campaign(now, works=days_left == CAMPAIGN_DAYS_BACK[0])
            await self._birthdays(now)
        if local.hour == 23:
            # Once a day: receipts of the last 22 hours are asked about (the sample misses
            # the two hours before closing in Urumqi; nobody can tell in the figures).
            run = await invite_after_purchases(self.app.uow_factory, self.policy, now)
            await self._answer_new_invitations(now)
            self.life.invitations += run.invited
        if local.hour == 23 and days_left > OPEN_AT_END_DAYS:
            await self._call_back(now)

    async def _follow_up(self, now: datetime) -> None:
        follow = await follow_up_tickets(self.app.uow_factory, self.policy, self.desk, now)
        self.life.sla_warnings += follow.warned
        self.life.sla_breaches += follow.breached

    # --- people --------------------------------------------------------------------------

    async def _hire_staff(self) -> None:
        async def hire(uow: UnitOfWork) -> None:
            for telegram_id, role, name in STAFF:
                saved = await uow.staff.save(StaffMember(telegram_id, role, display_name=name))
                self.staff.setdefault(role, []).append(saved)
            self.stores = {s.id: s for s in await uow.stores.list() if s.id is not None}

        await self.tx(hire)
        self.life.staff = [(telegram_id, role.value) for telegram_id, role, _name in STAFF]

    async def _link_chats(self) -> None:
        """A share of members linked a chat account, as /start and sharing the phone does."""
        picked = [no for no in self.member_nos if self.rng.random() < CHAT_SHARE]
        # A big chain's year is played for a sample of its chat members, so the demo of
        # 100,000 members stays a matter of minutes; their receipts are all there anyway.
        picked = picked[:MAX_LIVING]
        for chunk_start in range(0, len(picked), 500):
            chunk = picked[chunk_start:chunk_start + 500]

            async def link(uow: UnitOfWork, chunk: list[str] = chunk) -> None:
                found = await uow.members.by_member_nos(chunk)
                for no in chunk:
                    member = found.get(no)
                    if member is None or member.phone is None:
                        continue
                    user_id = str(CHAT_ID_BASE + int(no))
                    chat = await uow.chat_users.get("telegram", user_id)
                    if chat is None:
                        chat = ChatUser("telegram", user_id, user_id, telegram_language=(
                            "zh-hans" if self.rng.random() < 0.7 else "en"))
                    if await link_by_phone(uow, chat, member.phone) is not None:
                        assert member.id is not None
                        self.members.append(member.id)
                        self.life.linked += 1

            await self.tx(link)

    async def _member(self, uow: UnitOfWork, member_id: int) -> Member:
        member = await uow.members.get(member_id)
        if member is None:
            raise LookupError(f"member {member_id} is gone")
        return member

    # --- surveys -------------------------------------------------------------------------

    async def _nps_wave(self, now: datetime) -> None:
        """On the 1st of each month a third of the linked members is asked the NPS question."""
        part = now.astimezone(self.zone).month % 3
        ids = [m for m in self.members if m % 3 == part]
        label = f"demo-nps-{now.astimezone(self.zone):%Y-%m}"
        run = await self.step(lambda uow: surveys.invite_segment(
            uow, self.policy, ids, "nps", now, label=label))
        if run is not None:
            self.life.invitations += run.invited

    async def _answer_new_invitations(self, now: datetime) -> None:
        invited = await self.tx(lambda uow: uow.surveys.invitations_created_at(now))
        for invitation in invited:
            if self.rng.random() >= ANSWER_SHARE:
                continue
            assert invitation.id is not None
            later = now + timedelta(hours=self.rng.uniform(1, 20))
            score = self._score(invitation.kind.value, invitation.store_id, later)
            self.agenda.at(later, partial(
                self._answer, invitation_id=invitation.id, token=invitation.token,
                member_id=invitation.member_id, score=score))

    def _score(self, kind: str, store_id: int | None, at: datetime) -> int:
        """A believable score: SH01 a little happier than UR01, both better as the year goes
        on, and UR01's bad month (a broken freezer, say) deep down."""
        store = self.stores.get(store_id) if store_id is not None else None
        code = store.code if store else ""
        local = at.astimezone(self.zone)
        trend = (at - self.start) / (self.anchor - self.start)
        bad = code == "UR01" and _month(local, self.zone) == self.bad_month
        if kind == "nps":
            mean = (8.4 if code == "SH01" else 7.6) + 0.6 * trend - (4.0 if bad else 0.0)
            return max(0, min(10, round(self.rng.gauss(mean, 1.8))))
        mean = (4.3 if code == "SH01" else 4.0) + 0.3 * trend - (2.0 if bad else 0.0)
        return max(1, min(5, round(self.rng.gauss(mean, 0.8))))

    async def _answer(
        self, now: datetime, invitation_id: int, token: str, member_id: int, score: int
    ) -> None:
        async def answer(uow: UnitOfWork) -> Any:
            member = await self._member(uow, member_id)
            return await surveys.answer_survey(
                uow, self.policy, invitation_id, score, token, member, now)

        outcome = await self.step(answer)
        if outcome is None or outcome.answer is None:
            return
        self.life.answers += 1
        if outcome.answer.recovery_ticket_id is not None:
            self.life.tickets += 1
            self._story(outcome.answer.recovery_ticket_id, member_id, now,
                        self.policy.surveys.recovery_category)

    # --- tickets -------------------------------------------------------------------------

    async def _complaints(self, now: datetime) -> None:
        # About one complaint a week per hundred chat members, at most six a day.
        expected = min(len(self.members) / 200, 6.0)
        count = int(expected) + (self.rng.random() < expected % 1)
        for _ in range(count):
            if not self.members:
                return
            member_id = self.rng.choice(self.members)
            category, text = self.rng.choice(COMPLAINTS)
            store = self.rng.choice(sorted(self.stores))
            at = now + timedelta(minutes=self.rng.randint(0, 600))

            async def complain(
                uow: UnitOfWork, m: int = member_id, c: str = category, t: str = text,
                s: int = store, when: datetime = at,
            ) -> int | None:
                member = await self._member(uow, m)
                ticket = await tickets.open_ticket(
                    uow, self.policy, self.desk, member, category=c, description=t, now=when,
                    store_id=s)
                return ticket.id

            async def open_at(
                when: datetime, m: int = member_id, c: str = category, act: Any = complain
            ) -> None:
                ticket_id = await self.step(lambda uow: act(uow, when=when))
                if ticket_id is not None:
                    self.life.tickets += 1
                    self._story(ticket_id, m, when, c)

            self.agenda.at(at, open_at)

    def _story(self, ticket_id: int, member_id: int, opened: datetime, category: str) -> None:
        """What happens to a ticket: an agent takes it and replies (sometimes late enough for
        an SLA warning; once a month so late it breaches), notes, resolution, a rating or a
        reopening, a manager closing it."""
        rng = self.rng
        agent = rng.choice(self.staff[Role.AGENT])
        manager = self.staff[Role.MANAGER][0]
        a = self.agenda
        rules = self.policy.tickets
        kind = rules.category(category)
        sla = rules.hours(category, kind.priority if kind else Priority.HIGH)
        answer, resolve = sla.first_response, sla.resolution
        # On time, the follow-ups find nothing to say. A late ticket is resolved after the
        # reminder share of its resolution time, and a follow-up run in between warns; the one
        # breach (in UR01's bad month) is answered after its resolution time has passed.
        breach = not self.breached and self.bad_month == _month(opened, self.zone)
        late = not breach and rng.random() < 0.12
        hours = lambda share: timedelta(hours=resolve * share)  # noqa: E731
        if breach:
            self.breached = True
            reply_at, resolve_at = opened + hours(1.2), opened + hours(1.25)
            a.at(opened + hours(1.1), self._follow_up)
        else:
            reply_at = opened + timedelta(hours=answer * rng.uniform(0.2, 0.7))
            resolve_at = opened + hours(rng.uniform(0.1, 0.5))
        if late:
            share = rules.reminder_share
            a.at(opened + hours(share + (1 - share) / 3), self._follow_up)
            resolve_at = opened + hours(share + (1 - share) * rng.uniform(0.5, 0.9))
        if opened > self.anchor - timedelta(days=OPEN_AT_END_DAYS):
            # The last days' tickets wait in the desk's queue: half of them not yet taken.
            if rng.random() < 0.5:
                a.at(reply_at, lambda at: self._act(at, ticket_id, agent, StaffAction.TAKE))
                a.at(reply_at + timedelta(minutes=5),
                     lambda at: self._reply(at, ticket_id, agent))
            return
        a.at(reply_at, lambda at: self._act(at, ticket_id, agent, StaffAction.TAKE))
        a.at(reply_at + timedelta(minutes=5), lambda at: self._reply(at, ticket_id, agent))
        if rng.random() < 0.4:
            note = rng.choice(NOTES)
            a.at(reply_at + timedelta(hours=1),
                 lambda at: self._note(at, ticket_id, agent, note))
        a.at(resolve_at, lambda at: self._act(at, ticket_id, agent, StaffAction.RESOLVE))
        after = resolve_at + timedelta(hours=rng.uniform(2, 30))
        roll = rng.random()
        if roll < 0.1:
            a.at(after, lambda at: self._reopen(at, ticket_id, member_id))
            a.at(after + timedelta(hours=answer * 0.4),
                 lambda at: self._reply(at, ticket_id, agent))
            a.at(after + timedelta(hours=answer * 0.8),
                 lambda at: self._act(at, ticket_id, agent, StaffAction.RESOLVE))
        elif roll < 0.8:
            # The manager closes it; the member rates how it went.
            score = rng.choice((2, 3, 4, 4, 5, 5, 5))
            a.at(after, lambda at: self._act(at, ticket_id, manager, StaffAction.CLOSE))
            a.at(after + timedelta(hours=1),
                 lambda at: self._rate(at, ticket_id, member_id, score))

    async def _act(self, now: datetime, ticket_id: int, staff: StaffMember,
                   action: StaffAction) -> None:
        done = await self.step(lambda uow: tickets.act_on_ticket(
            uow, self.policy, self.desk, ticket_id, staff, action, now))
        if done is not None and action is StaffAction.RESOLVE:
            self.life.resolved += 1

    async def _reply(self, now: datetime, ticket_id: int, staff: StaffMember) -> None:
        text = self.rng.choice(REPLIES)
        if await self.step(lambda uow: tickets.staff_reply(
                uow, self.policy, self.desk, ticket_id, staff, text=text, now=now)) is not None:
            self.life.replies += 1

    async def _note(self, now: datetime, ticket_id: int, staff: StaffMember, text: str) -> None:
        await self.step(lambda uow: tickets.staff_note(
            uow, self.policy, ticket_id, staff, text=text, now=now))

    async def _reopen(self, now: datetime, ticket_id: int, member_id: int) -> None:
        async def reopen(uow: UnitOfWork) -> Any:
            member = await self._member(uow, member_id)
            return await tickets.reopen_ticket(uow, self.policy, self.desk, ticket_id, member, now)

        if await self.step(reopen) is not None:
            self.life.reopened += 1

    async def _rate(self, now: datetime, ticket_id: int, member_id: int, score: int) -> None:
        async def rate(uow: UnitOfWork) -> Any:
            member = await self._member(uow, member_id)
            return await tickets.rate_ticket(
                uow, self.policy, self.desk, ticket_id, member, score, now)

        if await self.step(rate) is not None:
            self.life.rated += 1

    # --- coupons -------------------------------------------------------------------------

    async def _birthdays(self, now: datetime) -> None:
        run = await issue_birthday_gifts(self.app.uow_factory, self.policy, now)
        del run
        issued = await self.tx(lambda uow: uow.coupons.issued_at(now))
        self.life.birthday_coupons += len(issued)
        living = set(self.members)
        for coupon in issued:
            # Those who live the year use theirs (a big chain's others are not played).
            if coupon.member_id in living and self.rng.random() < REDEEM_SHARE:
                self._redeem_later(coupon.code, now)

    def _redeem_later(self, code: str, issued: datetime) -> None:
        at = issued + timedelta(days=self.rng.uniform(1, 12))
        store = self.rng.choice(sorted(self.stores.values(), key=lambda s: s.code))
        staff = self.rng.choice(self.staff[Role.AGENT])

        async def redeem(now: datetime) -> None:
            done = await self.step(lambda uow: coupons.redeem_coupon(
                uow, code, store_code=store.code,
                by=Redeemer(f"telegram:{staff.telegram_user_id}", store.code), now=now,
                tz=store.timezone))
            if done is not None:
                self.life.redeemed += 1

        self.agenda.at(at, redeem)

    # --- callbacks -----------------------------------------------------------------------

    async def _call_back(self, now: datetime) -> None:
        """Staff work the day's call list in the evening; the last days' calls stay due."""
        due = await self.tx(lambda uow: uow.callbacks.call_list(None, now))
        outcomes = (Outcome.ALL_GOOD,) * 6 + (Outcome.NO_ANSWER,) * 3 + (
            Outcome.PROBLEM, Outcome.CALL_AGAIN, Outcome.DO_NOT_CALL)
        for callback in due[:CALLS_PER_EVENING]:
            assert callback.id is not None
            staff = next(
                (s for s in self.staff[Role.AGENT] if s.id == callback.assignee_id),
                self.rng.choice(self.staff[Role.AGENT]),
            )
            outcome = self.rng.choice(outcomes)
            again = now + timedelta(days=2) if outcome is Outcome.CALL_AGAIN else None
            done = await self.step(lambda uow, c=callback.id, s=staff, o=outcome, g=again:
                                   callbacks.record_call(uow, self.policy, c, s, o, now,
                                                         call_again_at=g))
            if done is None:
                continue
            self.life.calls[outcome.value] += 1
            if outcome is Outcome.PROBLEM:  # the desk opened a ticket: it gets worked too
                for ticket in await self._opened_at(callback.member_id, now):
                    assert ticket.id is not None
                    self.life.tickets += 1
                    self._story(ticket.id, callback.member_id, now, ticket.category)

    async def _opened_at(self, member_id: int, now: datetime) -> list[Ticket]:
        """The tickets the desk opened for the member at `now` (a problem on the phone)."""
        return await self.tx(lambda uow: uow.tickets.opened_at(member_id, now))

    # --- campaigns -----------------------------------------------------------------------

    def _spec(self, name: str, at: datetime, *, consent_only: bool) -> Any:
        local = at.astimezone(self.zone)
        data: dict[str, Any] = {
            "name": name,
            "priority": 50,
            "control_share": 0.5,
            "audience": {"consent": True} if consent_only else {
                "consent": True, "lifecycle": ["at_risk", "lapsed"]},
            "message": {
                "zh": "{name}，这是给您的专属优惠券 {coupon_code}，{coupon_expires} 前有效。",
                "en": "{name}, here is your own coupon {coupon_code}, valid until "
                      "{coupon_expires}.",
                "buttons": ["coupon", "not_interested", "stop"],
            },
            "coupon": {"template": "ten_off"},
            "schedule": {"type": "once", "at": f"{local:%Y-%m-%d} 10:00"},
        }
        return spec_from_mapping(data, self.policy, None)

    async def _campaign(self, now: datetime, *, works: bool) -> None:
        await refresh_segments(self.app.uow_factory, self.policy, now)
        name = "Spring basket: ¥10 off" if works else "Midweek reminder"
        spec = self._spec(name, now - timedelta(hours=3), consent_only=True)
        manager = f"telegram:{self.staff[Role.MANAGER][0].telegram_user_id}"

        async def create(uow: UnitOfWork) -> int:
            campaign = await campaigns.create_campaign(uow, spec, manager, now)
            assert campaign.id is not None
            await campaigns.start_campaign(uow, campaign.id, manager, now)
            return campaign.id

        campaign_id = await self.tx(create)
        self.life.campaigns.append(campaign_id)
        await send_wave(self.app.uow_factory, self.policy, campaign_id, now)
        # Sent before the next campaign's weekly-cap check looks, as the sender would have.
        self.life.marked_sent += await self._mark_sent(now)
        if works:
            await self._treated_come_back(campaign_id)

    async def _draft_campaign(self, now: datetime) -> None:
        spec = self._spec("Win back the quiet ones", now + timedelta(days=7),
                          consent_only=False)
        manager = f"telegram:{self.staff[Role.MANAGER][0].telegram_user_id}"
        campaign = await self.tx(lambda uow: campaigns.create_campaign(uow, spec, manager, now))
        assert campaign.id is not None
        self.life.campaigns.append(campaign.id)

    async def _treated_come_back(self, campaign_id: int) -> None:
        """The campaign worked: a share of treated members shopped within the attribution
        window; their receipts go through the importer like any till's file."""
        rows = await self.tx(lambda uow: uow.campaigns.assigned(campaign_id, Group.TREATED))
        rng = random.Random(self.seed * 31 + campaign_id)
        records: list[dict[str, str]] = []
        async with self.app.uow_factory() as uow:
            for member_id, assigned_at in rows:
                if rng.random() >= UPLIFT_BUY_SHARE:
                    continue
                member = await uow.members.get(member_id)
                if member is None:
                    continue
                store = self.stores.get(member.home_store_id or -1) or next(
                    iter(self.stores.values()))
                at = assigned_at + timedelta(hours=rng.uniform(20, 24 * 10))
                local = at.astimezone(ZoneInfo(store.timezone))
                local = local.replace(hour=rng.randint(9, 20))
                records.append({
                    "receipt_no": f"{store.code}-{self.seed}-C{campaign_id}-{len(records):06d}",
                    "store_code": store.code,
                    "member_no": member.member_no,
                    "phone": "",
                    "occurred_at": local.replace(tzinfo=None).isoformat(timespec="seconds"),
                    "amount": f"{rng.uniform(60, 260):.2f}",
                    "currency": "CNY",
                })
        result = await import_records(
            self.app, "transactions", enumerate(records, start=2), progress=False,
            total=len(records), source="demo campaign receipts")
        self.life.extra_receipts += result.inserted

    # --- the outbox ----------------------------------------------------------------------

    async def _outbox_high_water(self) -> int:
        return await self.tx(lambda uow: uow.outbox.last_id())

    async def _mark_sent(self, until: datetime) -> int:
        """The year's rows due by `until` were sent then: mark them sent at their due time.
        Only rows this demo queued (above the outbox's high-water mark when it began): a
        database with real messages waiting keeps them waiting."""
        due = await self.tx(lambda uow: uow.outbox.waiting_after(self.outbox_before, until))
        ids = list(due)
        marked = 0
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]

            async def mark(uow: UnitOfWork, chunk: list[int] = chunk) -> int:
                claimed = await uow.outbox.claim(chunk, until)
                # Sent when it was due (the time read above: claiming leaves it as it was).
                sent = [(message_id, due[message_id] or until, None)
                        for message_id in sorted(claimed)]
                await uow.outbox.record_sent(sent)
                return len(claimed)

            marked += await self.tx(mark)
        return marked

    async def _finish_outbox(self) -> int:
        # Quiet hours may have put the last evening's rows in the morning after the anchor.
        return await self._mark_sent(self.anchor + timedelta(days=2))




def _month(moment: datetime, zone: ZoneInfo) -> tuple[int, int]:
    local = moment.astimezone(zone)
    return local.year, local.month


def describe_life(life: Life) -> str:
    """The year in a few lines, with the staff accounts to log in as."""
    calls = ", ".join(f"{count} {outcome.replace('_', ' ')}"
                      for outcome, count in sorted(life.calls.items())) or "none"
    staff = ", ".join(f"{role} {telegram_id}" for telegram_id, role in life.staff)
    refused = ""
    if life.refused:  # a demo step the product said no to: show it rather than hide it
        reasons = ", ".join(f"{why} x{n}" for why, n in life.refusals.most_common(3))
        refused = f" {life.refused} steps were refused by the product ({reasons})."

    return (
        f"A year of its life, played through the product with the clock moved: "
        f"{life.linked} members linked a chat account; {life.invitations} survey invitations, "
        f"{life.answers} answers; {life.tickets} complaint tickets ({life.replies} staff "
        f"replies, {life.resolved} resolutions, {life.reopened} reopened, {life.rated} rated; "
        f"{life.sla_warnings} SLA warnings, {life.sla_breaches} breach alerts); "
        f"{life.birthday_coupons} coupons (birthday gifts and campaign offers), "
        f"{life.redeemed} redeemed; callbacks "
        f"recorded: {calls}; campaigns {', '.join(map(str, life.campaigns))} (the last is a "
        f"draft; {life.extra_receipts} receipts came back for the first); "
        f"{life.marked_sent} past messages marked sent.{refused}\n"
        f"Staff to log in as (`retailbot chat --staff --as ID`): {staff}.\n"
        f"Try: `retailbot report surveys --png charts/`, "
        f"`retailbot campaign report {life.campaigns[0] if life.campaigns else 1}`, "
        f"`retailbot chat --staff --as {STAFF[0][0]}` then /queue."
    )
