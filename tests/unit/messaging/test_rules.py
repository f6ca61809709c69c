"""Delivery rules without a database: consent, cap, quiet hours, back-off, pacing, call plans."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from bot.telegram.messenger import chat_is_gone, plan_calls
from domain.messaging.model import Action, MessageKind, OutboxMessage, Recipient
from domain.messaging.policy import DeliveryPolicy
from domain.messaging.rules import backoff, decide, localise_params, quiet_until
from domain.privacy.model import Purpose
from domain.shared.policy import Policy
from scheduler.ratelimit import PACE_MARGIN, RateLimiter

SHANGHAI = "Asia/Shanghai"
DELIVERY = Policy().delivery  # quiet 21:00-09:00, 2 marketing per 7 days


def message(kind: MessageKind = MessageKind.SERVICE, *, quiet: bool = False) -> OutboxMessage:
    return OutboxMessage("k", "42", kind, message_key="birthday.greeting", quiet_hours=quiet)


def at_shanghai(hour: int, minute: int = 0, day: int = 15) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def who(**kw: object) -> Recipient:
    values: dict[str, object] = {"chat_id": "42", "language": "en", "timezone": SHANGHAI}
    values.update(kw)
    return Recipient(**values)  # type: ignore[arg-type]


def test_quiet_hours_spanning_midnight_end_the_next_morning() -> None:
    evening = at_shanghai(22, 30)
    assert quiet_until(evening, SHANGHAI, time(21), time(9)) == at_shanghai(9, day=16)
    early = at_shanghai(6, 15)
    assert quiet_until(early, SHANGHAI, time(21), time(9)) == at_shanghai(9)
    assert quiet_until(at_shanghai(9), SHANGHAI, time(21), time(9)) is None
    assert quiet_until(at_shanghai(20, 59), SHANGHAI, time(21), time(9)) is None


def test_quiet_hours_within_a_day_and_switched_off() -> None:
    lunch = at_shanghai(12, 30)
    assert quiet_until(lunch, SHANGHAI, time(12), time(14)) == at_shanghai(14)
    assert quiet_until(lunch, SHANGHAI, None, None) is None


def test_quiet_hours_are_the_members_local_hours() -> None:
    # 14:00 UTC is 22:00 in Shanghai (quiet) and 10:00 in New York (allowed).
    now = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
    assert quiet_until(now, SHANGHAI, time(21), time(9)) is not None
    assert quiet_until(now, "America/New_York", time(21), time(9)) is None


def test_marketing_needs_consent_and_no_opt_out() -> None:
    noon = at_shanghai(12)
    offer = message(MessageKind.MARKETING)
    assert decide(offer, who(), DELIVERY, noon, SHANGHAI).action is Action.SKIP
    opted_out = who(marketing_consent=True, opted_out=True)
    assert decide(offer, opted_out, DELIVERY, noon, SHANGHAI).action is Action.SKIP
    assert decide(offer, who(marketing_consent=True), DELIVERY, noon, SHANGHAI).action is (
        Action.SEND
    )


def test_marketing_obeys_the_weekly_cap_and_service_does_not() -> None:
    noon = at_shanghai(12)
    capped = who(marketing_consent=True, marketing_sent_7d=2)
    decision = decide(message(MessageKind.MARKETING), capped, DELIVERY, noon, SHANGHAI)
    assert decision.action is Action.SKIP and "frequency cap" in decision.reason
    assert decide(message(), capped, DELIVERY, noon, SHANGHAI).action is Action.SEND


def test_marketing_always_waits_for_the_morning() -> None:
    offer = message(MessageKind.MARKETING)
    assert offer.quiet_hours
    night = at_shanghai(23)
    decision = decide(offer, who(marketing_consent=True), DELIVERY, night, SHANGHAI)
    assert decision.action is Action.DEFER and decision.until == at_shanghai(9, day=16)


def test_service_waits_only_when_it_asks_to() -> None:
    night = at_shanghai(2)
    assert decide(message(), who(), DELIVERY, night, SHANGHAI).action is Action.SEND
    greeting = message(quiet=True)
    decision = decide(greeting, who(), DELIVERY, night, SHANGHAI)
    assert decision.action is Action.DEFER and decision.until == at_shanghai(9)


def _sent_stop(**kw: object) -> Recipient:
    return who(marketing_consent=False, opted_out=True, **kw)


@pytest.mark.parametrize(
    "key", ["birthday.greeting", "coupons.expiry_reminder", "surveys.invite",
            "callbacks.checkin.vip", "callbacks.checkin.new_member"]
)
def test_what_nobody_asked_for_is_not_sent_after_stop_even_once_queued(key: str) -> None:
    """A greeting queued at 20:59 waits for the morning; the member sends /stop at 22:00: at
    09:00 the sender must not send it (the features leave out members who sent /stop when they
    queue these; the sender used to look at /stop for marketing only)."""
    unasked = OutboxMessage("k", "42", MessageKind.SERVICE, message_key=key, quiet_hours=True)
    for now in (at_shanghai(9, day=16), at_shanghai(23)):
        decision = decide(unasked, _sent_stop(), DELIVERY, now, SHANGHAI)
        assert (decision.action, decision.reason) == (Action.SKIP, "sent /stop")
    assert decide(unasked, who(), DELIVERY, at_shanghai(12), SHANGHAI).action is Action.SEND


@pytest.mark.parametrize(
    "key", ["ticket.staff_reply", "ticket.resolved", "ticket.member_reminder", "ticket.follow_up",
            "coupons.issued", "desk.sla_breach.first_response"]
)
def test_answers_and_ticket_messages_still_reach_a_member_who_sent_stop(key: str) -> None:
    """/stop ends offers and what nobody asked for, not what the member is owed: their own
    ticket's messages are queued after /stop, and the sender sends them."""
    for quiet in (False, True):
        row = OutboxMessage("k", "42", MessageKind.SERVICE, message_key=key, quiet_hours=quiet)
        assert decide(row, _sent_stop(), DELIVERY, at_shanghai(12), SHANGHAI).action is (
            Action.SEND
        )


def test_a_survey_invitation_is_not_sent_after_no_to_surveys() -> None:
    invite = OutboxMessage("k", "42", MessageKind.SERVICE, message_key="surveys.invite",
                           quiet_hours=True)
    said_no = who(refused=frozenset({Purpose.SURVEYS}))
    decision = decide(invite, said_no, DELIVERY, at_shanghai(12), SHANGHAI)
    assert (decision.action, decision.reason) == (Action.SKIP, "no surveys consent")
    other = who(refused=frozenset({Purpose.CALLS, Purpose.PROFILING}))
    assert decide(invite, other, DELIVERY, at_shanghai(12), SHANGHAI).action is Action.SEND
    greeting = message(quiet=True)
    assert decide(greeting, said_no, DELIVERY, at_shanghai(12), SHANGHAI).action is Action.SEND
    # A survey sent as marketing needs marketing consent as well.
    as_offer = OutboxMessage("k", "42", MessageKind.MARKETING, message_key="surveys.invite")
    keen = who(marketing_consent=True, refused=frozenset({Purpose.SURVEYS}))
    decision = decide(as_offer, keen, DELIVERY, at_shanghai(12), SHANGHAI)
    assert (decision.action, decision.reason) == (Action.SKIP, "no surveys consent")
    decision = decide(as_offer, who(), DELIVERY, at_shanghai(12), SHANGHAI)
    assert (decision.action, decision.reason) == (Action.SKIP, "no marketing consent")


def test_a_member_without_a_store_follows_the_chain_zone() -> None:
    night = at_shanghai(23)
    decision = decide(message(quiet=True), who(timezone=None), DELIVERY, night, SHANGHAI)
    assert decision.action is Action.DEFER


def test_an_unreachable_chat_fails_without_a_call() -> None:
    decision = decide(message(), who(reachable=False), DELIVERY, at_shanghai(12), SHANGHAI)
    assert decision.action is Action.FAIL


def test_backoff_doubles_up_to_the_cap() -> None:
    delivery = DeliveryPolicy(backoff_seconds=30, backoff_max_seconds=100)
    assert [backoff(n, delivery).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_params_are_picked_in_the_chat_language() -> None:
    params = {"coupon": {"en": "10 off", "zh": "立减 10 元"}, "code": "ABCD-EFGH"}
    assert localise_params(params, "zh") == {"coupon": "立减 10 元", "code": "ABCD-EFGH"}
    assert localise_params(params, "en")["coupon"] == "10 off"


def test_a_message_has_a_key_or_a_text() -> None:
    with pytest.raises(ValueError):
        OutboxMessage("k", "1", MessageKind.SERVICE)
    with pytest.raises(ValueError):
        OutboxMessage("k", "1", MessageKind.SERVICE, message_key="a.b", text="hi")


class FakeTime:
    """A monotonic clock that sleeping advances: the limiter's pacing without waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.releases: list[tuple[float, str]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_the_limiter_paces_sends_and_never_exceeds_the_rate() -> None:
    fake = FakeTime()
    limiter = RateLimiter(25, 1.0, monotonic=fake.monotonic, sleep=fake.sleep)
    for i in range(100):
        await limiter.acquire(f"chat{i}")
        fake.releases.append((fake.now, f"chat{i}"))
    times = [t for t, _ in fake.releases]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 1 / 25 - 1e-9
    for start in times:  # in any window of one second: at most 25
        assert sum(1 for t in times if start <= t < start + 1) <= 25
    # No slower than the rate less the pace's small margin.
    assert times[-1] - times[0] == pytest.approx(99 * (1 + PACE_MARGIN) / 25)
    assert 99 / (times[-1] - times[0]) >= 0.95 * 25


async def test_one_chat_gets_at_most_one_message_per_second() -> None:
    fake = FakeTime()
    limiter = RateLimiter(25, 1.0, monotonic=fake.monotonic, sleep=fake.sleep)
    await limiter.acquire("a")
    first = fake.now
    assert limiter.chat_wait("a") == pytest.approx(1.0)
    assert limiter.chat_wait("b") == 0
    await limiter.acquire("a")
    assert fake.now - first == pytest.approx(1.0)


async def test_a_pause_holds_every_chat() -> None:
    fake = FakeTime()
    limiter = RateLimiter(25, 1.0, monotonic=fake.monotonic, sleep=fake.sleep)
    limiter.pause(5)
    start = fake.now
    await limiter.acquire("x")
    assert fake.now - start == pytest.approx(5)


async def test_a_call_that_arrives_late_never_puts_more_than_the_rate_in_a_second() -> None:
    """The server counts arrivals: a call may reach it any time before its answer comes back.
    A release waits until the call `rate` releases earlier has ended and a second has passed,
    so even the worst arrivals (each call at its answer, a later one at its release) fit."""
    fake = FakeTime()
    limiter = RateLimiter(25, 0.0, monotonic=fake.monotonic, sleep=fake.sleep)
    released: list[float] = []
    ended: dict[int, float] = {}
    open_calls: dict[int, tuple[float, Any]] = {}  # call -> (when it ends, its slot)

    async def end_calls(upto: float) -> None:
        """The network answers every open call due by `upto`, in time order."""
        for n, (at, slot) in sorted(open_calls.items(), key=lambda item: item[1][0]):
            if at <= upto:
                fake.now = max(fake.now, at)
                await slot.__aexit__(None, None, None)
                ended[n] = fake.now
                del open_calls[n]

    for i in range(200):
        if i >= 25 and i - 25 in open_calls:  # the limiter will wait for that one: let it end
            await end_calls(open_calls[i - 25][0])
        await end_calls(fake.now)
        slot = limiter.slot(f"chat{i}")
        await slot.__aenter__()
        released.append(fake.now)
        open_calls[i] = (fake.now + (0.2 if i % 7 == 0 else 0.03), slot)  # round trips
    await end_calls(float("inf"))
    # Worst case for the server: every call arrives as late as it can (when it ended) and
    # the one `rate` calls later as early as it can (when it was released).
    for i in range(len(released) - 25):
        assert released[i + 25] >= ended[i] + 1.0
    rate = 199 / (released[-1] - released[0])
    assert rate > 0.8 * 25  # the price: about one round trip per second of sending


async def test_a_group_gets_at_most_twenty_messages_a_minute() -> None:
    fake = FakeTime()
    limiter = RateLimiter(25, 1.0, group_per_minute=20, monotonic=fake.monotonic,
                          sleep=fake.sleep)
    for _ in range(25):
        await limiter.acquire("-100500")
        fake.releases.append((fake.now, "-100500"))
    times = [t for t, _ in fake.releases]
    for start in times:  # in any minute: at most 20
        assert sum(1 for t in times if start <= t < start + 60) <= 20
    assert times[20] - times[0] == pytest.approx(60)
    assert limiter.chat_wait("42") == 0  # a person's chat is not held by the group


def test_sla_breach_alerts_jump_the_queue_and_groups_are_told_apart() -> None:
    from domain.messaging.model import MessageKind, OutboxMessage
    from domain.messaging.rules import is_group_chat, is_urgent

    breach = OutboxMessage("t:1:sla:first_response:breach", "-100500", MessageKind.SERVICE,
                           message_key="desk.sla_breach.first_response")
    notice = OutboxMessage("t:1:new", "-100500", MessageKind.SERVICE,
                           message_key="desk.ticket_card")
    assert is_urgent(breach) and not is_urgent(notice)
    assert is_group_chat("-100500") and not is_group_chat("42")


def test_a_long_text_with_a_photo_becomes_several_calls_buttons_last() -> None:
    buttons = ((("Show", "cp:1"),),)
    calls = plan_calls("short", b"\x89PNG", buttons)
    assert [(c.text, c.photo is not None, bool(c.buttons)) for c in calls] == [
        ("short", True, True)
    ]
    calls = plan_calls("x" * 5000, b"\x89PNG", buttons)
    assert calls[0].photo is not None and calls[0].text == ""
    assert len(calls) == 3 and calls[-1].buttons == buttons


def test_400_answers_that_mean_the_chat_is_gone() -> None:
    assert chat_is_gone("Bad Request: chat not found")
    assert not chat_is_gone("Bad Request: message text is empty")


def test_ptb_retry_after_in_seconds_or_as_a_timedelta() -> None:
    import warnings

    from telegram.error import RetryAfter

    from bot.telegram.ptb import retry_after_seconds

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert retry_after_seconds(RetryAfter(7)) == 7.0
        assert retry_after_seconds(RetryAfter(timedelta(seconds=3))) == 3.0


def test_every_unasked_for_key_is_a_message_the_features_send() -> None:
    """The list names other features' message keys: a renamed key must not slip out of it."""
    from domain.messaging.rules import UNASKED_FOR
    from handlers.i18n import load_catalogs

    english = load_catalogs()["en"]
    for key in UNASKED_FOR:
        assert any(k == key or (key.endswith(".") and k.startswith(key)) for k in english), key


def test_asking_before_queueing_gives_the_senders_answer() -> None:
    """The features ask `refusal_for` before they build a message; the sender asks `refusal` of
    the row: for every kind, key, quiet hours and member the two must agree."""
    from itertools import product

    from domain.messaging.rules import SENT_STOP, refusal, refusal_for

    keys = [None, "birthday.greeting", "coupons.expiry_reminder", "surveys.invite",
            "callbacks.checkin.new_member", "tickets.reply"]
    for kind, key, quiet, consent, stopped, said_no in product(
        MessageKind, keys, (False, True), (False, True), (False, True),
        ((), (Purpose.SURVEYS,)),
    ):
        row = OutboxMessage("k", "42", kind, message_key=key, text=None if key else "hi",
                            quiet_hours=quiet)
        asked = dict(marketing_consent=consent, opted_out=stopped, refused=said_no)
        assert refusal_for(kind, key, quiet_hours=quiet, **asked) == refusal(row, **asked), (
            kind, key, quiet, asked,
        )
    # What the features queue: /stop ends the unasked-for service messages, a "no" in /privacy
    # the survey invitation, and an answer the member waits for goes whatever they said.
    for key in ("birthday.greeting", "coupons.expiry_reminder", "callbacks.checkin.x"):
        assert refusal_for(MessageKind.SERVICE, key, quiet_hours=True, marketing_consent=False,
                           opted_out=True) == SENT_STOP
        assert refusal_for(MessageKind.SERVICE, key, quiet_hours=True, marketing_consent=False,
                           opted_out=False, refused=tuple(Purpose)) is None
    assert refusal_for(MessageKind.SERVICE, "surveys.invite", quiet_hours=True,
                       marketing_consent=False, opted_out=False, refused=(Purpose.SURVEYS,))
    assert refusal_for(MessageKind.SERVICE, "tickets.reply", quiet_hours=False,
                       marketing_consent=False, opted_out=True) is None
    # Marketing always waits for quiet hours, so a "no" to its purpose counts even when the
    # caller says it does not wait.
    assert refusal_for(MessageKind.MARKETING, "surveys.invite", quiet_hours=False,
                       marketing_consent=True, opted_out=False, refused=(Purpose.SURVEYS,))
