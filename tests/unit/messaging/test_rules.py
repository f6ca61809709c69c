"""Delivery rules without a database: consent, cap, quiet hours, back-off, pacing, call plans."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.telegram.messenger import chat_is_gone, plan_calls
from domain.messaging.model import Action, MessageKind, OutboxMessage, Recipient
from domain.messaging.policy import DeliveryPolicy
from domain.messaging.rules import backoff, decide, localise_params, quiet_until
from domain.shared.policy import Policy
from scheduler.ratelimit import RateLimiter

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
    assert times[-1] - times[0] == pytest.approx(99 / 25)  # and no slower than the rate


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
