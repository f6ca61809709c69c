"""The outbox and its sender on a real database, with the Messenger port faked in memory.

Time travels with the FixedClock; the sender's pacing uses real time but a high rate here
(the throughput and the real stand-in are in tests/e2e and bench/).
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.bootstrap import App, build_sender
from domain.coupons.services import expire_and_remind, issue_coupon
from domain.messaging.model import MessageKind, OutboxMessage, OutboxStatus
from domain.messaging.policy import DeliveryPolicy
from domain.messaging.ports import (
    ChatUnreachable,
    MessageRejected,
    RateLimited,
    TransientSendError,
)
from domain.privacy.model import Purpose
from domain.privacy.services import set_consent
from domain.shared.clock import FixedClock
from domain.shared.outbox import queue_message
from domain.shared.policy import Policy
from handlers.types import Inbound, InboundKind
from scheduler.sender import OutboxSender
from tests.support.conversation import say
from tests.support.coupons import FakeMessenger, add_member, moment, outbox_rows, seed_stores
from tests.support.statements import statements

FAST = Policy(delivery=DeliveryPolicy(rate_per_second=500, per_chat_interval=0.01))


def _clock(app: App) -> FixedClock:
    assert isinstance(app.clock, FixedClock)
    return app.clock


def _sender(app: App, messenger: FakeMessenger, policy: Policy = FAST) -> OutboxSender:
    app.policy = policy
    return build_sender(app, messenger, poll_interval=0.05)


async def _queue(
    app: App,
    key: str,
    member_id: int,
    chat: int,
    *,
    kind: MessageKind = MessageKind.SERVICE,
    quiet: bool = False,
    message_key: str = "birthday.greeting",
    params: dict[str, object] | None = None,
) -> bool:
    async with app.uow_factory() as uow:
        chat_user = await uow.chat_users.get("telegram", str(chat))
        queued = await queue_message(
            uow,
            OutboxMessage(
                dedupe_key=key,
                chat_id=str(chat),
                chat_user_id=chat_user.id if chat_user else None,
                member_id=member_id,
                kind=kind,
                message_key=message_key,
                params=params
                or {"name": "Mei", "coupon": {"en": "20 off", "zh": "立减 20 元"},
                    "code": "ABCD-EFGH", "day": "2026-07-15"},
                buttons=[[{"key": "coupons.show_button", "data": "cp:1"}]],
                quiet_hours=quiet,
            ),
            app.clock.now(),
        )
        await uow.commit()
    return queued


async def _statuses(app: App) -> dict[str, str]:
    return {row.dedupe_key: row.status for row in await outbox_rows(app)}


async def test_a_message_is_queued_once_and_sent_in_the_chats_language(any_app: App) -> None:
    await seed_stores(any_app)
    member = await add_member(any_app, "1", chat=501, language="en")
    assert member.id is not None
    assert await _queue(any_app, "k1", member.id, 501)
    assert not await _queue(any_app, "k1", member.id, 501)  # the same dedupe key: nothing new
    # The member switches to Chinese before it goes out: it is translated when sent.
    async with any_app.uow_factory() as uow:
        chat_user = await uow.chat_users.get("telegram", "501")
        assert chat_user is not None
        chat_user.language = "zh"
        await uow.chat_users.save(chat_user)
        await uow.commit()
    messenger = FakeMessenger()
    stats = await _sender(any_app, messenger).drain(max_seconds=10)
    (sent,) = messenger.to(501)
    assert sent.text.startswith("🎂") and "立减 20 元" in sent.text
    assert sent.buttons == ((("🎫 查看我的优惠券", "cp:1"),),)
    assert stats.sent == 1 and (await _statuses(any_app)) == {"k1": "sent"}


async def test_quiet_hours_defer_to_the_members_local_morning(any_app: App) -> None:
    shop = await seed_stores(any_app)
    sh = await add_member(any_app, "1", store=shop.shanghai, chat=501)
    ny = await add_member(any_app, "2", store=shop.new_york, chat=502)
    clock = _clock(any_app)
    clock.set(moment("2026-06-15 23:30 +08:00"))  # 11:30 in New York
    assert sh.id and ny.id
    await _queue(any_app, "sh", sh.id, 501, quiet=True)
    await _queue(any_app, "ny", ny.id, 502, quiet=True)
    await _queue(any_app, "answer", sh.id, 501)  # asked for: goes at night too
    messenger = FakeMessenger()
    sender = _sender(any_app, messenger)
    await sender.drain(max_seconds=10)
    assert await _statuses(any_app) == {"sh": "deferred", "ny": "sent", "answer": "sent"}
    (deferred,) = [r for r in await outbox_rows(any_app) if r.dedupe_key == "sh"]
    assert deferred.next_attempt_at == moment("2026-06-16 09:00 +08:00")

    clock.set(moment("2026-06-16 08:59 +08:00"))
    await sender.drain(max_seconds=10)
    assert (await _statuses(any_app))["sh"] == "deferred"
    clock.set(moment("2026-06-16 09:00 +08:00"))
    await sender.drain(max_seconds=10)
    assert (await _statuses(any_app))["sh"] == "sent"
    assert len(messenger.to(501)) == 2


async def test_marketing_obeys_consent_opt_out_and_the_weekly_cap(any_app: App) -> None:
    shop = await seed_stores(any_app)
    keen = await add_member(any_app, "1", store=shop.shanghai, chat=501, consent=True)
    shy = await add_member(any_app, "2", store=shop.shanghai, chat=502)
    gone = await add_member(any_app, "3", store=shop.shanghai, chat=503, consent=True,
                            opted_out=True)
    clock = _clock(any_app)
    clock.set(moment("2026-06-15 12:00 +08:00"))
    assert keen.id and shy.id and gone.id
    messenger = FakeMessenger()
    sender = _sender(any_app, messenger)
    for day in range(3):  # one offer a day; the cap is 2 per rolling 7 days
        await _queue(any_app, f"offer:{day}", keen.id, 501, kind=MessageKind.MARKETING)
        await sender.drain(max_seconds=10)
        clock.advance(timedelta(days=1))
    await _queue(any_app, "offer:shy", shy.id, 502, kind=MessageKind.MARKETING)
    await _queue(any_app, "offer:gone", gone.id, 503, kind=MessageKind.MARKETING)
    await _queue(any_app, "service:gone", gone.id, 503)  # service still reaches them
    await sender.drain(max_seconds=10)
    statuses = await _statuses(any_app)
    assert statuses == {
        "offer:0": "sent",
        "offer:1": "sent",
        "offer:2": "skipped",
        "offer:shy": "skipped",
        "offer:gone": "skipped",
        "service:gone": "sent",
    }
    reasons = {r.dedupe_key: r.last_error for r in await outbox_rows(any_app)}
    assert "frequency cap" in reasons["offer:2"] and "consent" in reasons["offer:shy"]
    # A week after the first offer, the cap has room again.
    clock.set(moment("2026-06-22 12:30 +08:00"))
    await _queue(any_app, "offer:later", keen.id, 501, kind=MessageKind.MARKETING)
    await sender.drain(max_seconds=10)
    assert (await _statuses(any_app))["offer:later"] == "sent"


async def test_a_blocked_chat_is_marked_unreachable_and_left_alone(any_app: App) -> None:
    member = await add_member(any_app, "1", chat=501)
    other = await add_member(any_app, "2", chat=502)
    assert member.id and other.id
    for i in range(3):
        await _queue(any_app, f"m{i}", member.id, 501)
    await _queue(any_app, "other", other.id, 502)
    messenger = FakeMessenger(always={"501": ChatUnreachable("Forbidden: bot was blocked")})
    await _sender(any_app, messenger).drain(max_seconds=10)
    statuses = await _statuses(any_app)
    assert statuses == {"m0": "failed", "m1": "failed", "m2": "failed", "other": "sent"}
    assert messenger.calls == 2  # one try for the blocked chat, one for the other
    async with any_app.uow_factory() as uow:
        chat_user = await uow.chat_users.get("telegram", "501")
    assert chat_user is not None and not chat_user.reachable
    # Writing to the bot again makes the chat reachable; new messages go out.
    await any_app.conversation.handle(
        Inbound("telegram", "501", "501", InboundKind.TEXT, payload="hello")
    )
    await _queue(any_app, "after", member.id, 501)
    await _sender(any_app, FakeMessenger()).drain(max_seconds=10)
    assert (await _statuses(any_app))["after"] == "sent"


async def test_transient_failures_back_off_then_dead_letter(any_app: App) -> None:
    member = await add_member(any_app, "1", chat=501)
    assert member.id
    await _queue(any_app, "flaky", member.id, 501)
    await _queue(any_app, "broken", member.id, 501)
    await _queue(any_app, "refused", member.id, 501)
    policy = Policy(delivery=DeliveryPolicy(rate_per_second=500, per_chat_interval=0.01,
                                            max_attempts=3, backoff_seconds=30))
    messenger = FakeMessenger()
    sender = _sender(any_app, messenger, policy)
    clock = _clock(any_app)
    # Round 1: the first row hits the timeout and waits 30 s; the others go.
    messenger.errors["501"] = [TransientSendError("timeout")]
    await sender.drain(max_seconds=10)
    statuses = await _statuses(any_app)
    assert statuses["flaky"] == "pending" and statuses["broken"] == statuses["refused"] == "sent"
    flaky = next(r for r in await outbox_rows(any_app) if r.dedupe_key == "flaky")
    assert flaky.attempts == 1 and flaky.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert "timeout" in flaky.last_error
    clock.advance(timedelta(seconds=30))
    await sender.drain(max_seconds=10)
    assert (await _statuses(any_app))["flaky"] == "sent"

    # A message failing every time is dead after max_attempts, with the reason kept.
    await _queue(any_app, "doomed", member.id, 501)
    messenger.always["501"] = TransientSendError("server error 502")
    for _ in range(3):
        await sender.drain(max_seconds=10)
        clock.advance(timedelta(hours=1))
    doomed = next(r for r in await outbox_rows(any_app) if r.dedupe_key == "doomed")
    assert doomed.status == "dead" and doomed.attempts == 3
    assert "gave up after 3 attempts" in doomed.last_error and "502" in doomed.last_error

    # A message Telegram refuses as such is dead at once.
    await _queue(any_app, "bad", member.id, 501)
    messenger.always["501"] = MessageRejected("Bad Request: message text is empty")
    await sender.drain(max_seconds=10)
    bad = next(r for r in await outbox_rows(any_app) if r.dedupe_key == "bad")
    assert bad.status == "dead" and bad.attempts == 0 and "text is empty" in bad.last_error


async def test_429_pauses_sending_and_the_message_goes_after_the_wait(any_app: App) -> None:
    member = await add_member(any_app, "1", chat=501)
    assert member.id
    await _queue(any_app, "slow", member.id, 501)
    messenger = FakeMessenger(errors={"501": [RateLimited(0.3)]})
    sender = _sender(any_app, messenger)
    await sender.drain(max_seconds=10)
    assert (await _statuses(any_app)) == {"slow": "sent"}
    assert sender.stats.rate_limited == 1 and len(messenger.sent) == 1
    row = (await outbox_rows(any_app))[0]
    assert row.attempts == 1  # the 429 did not count as a failed attempt


async def test_rows_left_sending_by_a_crash_become_unknown_and_are_not_resent(
    any_app: App,
) -> None:
    member = await add_member(any_app, "1", chat=501)
    assert member.id
    await _queue(any_app, "inflight", member.id, 501)
    await _queue(any_app, "waiting", member.id, 501)
    row = (await outbox_rows(any_app))[0]
    async with any_app.uow_factory() as uow:
        assert await uow.outbox.mark_sending(row.id, any_app.clock.now())
        await uow.commit()
    messenger = FakeMessenger()
    sender = _sender(any_app, messenger)
    assert await sender.recover() == 1
    await sender.drain(max_seconds=10)
    assert await _statuses(any_app) == {"inflight": "unknown", "waiting": "sent"}
    assert len(messenger.sent) == 1


async def test_expiry_marks_coupons_and_reminds_once_three_days_ahead(any_app: App) -> None:
    shop = await seed_stores(any_app)
    member = await add_member(any_app, "1", store=shop.shanghai, chat=501)
    quiet = await add_member(any_app, "2", store=shop.shanghai, chat=502, opted_out=True)
    assert member.id and quiet.id
    clock = _clock(any_app)
    clock.set(moment("2026-06-01 12:00 +08:00"))
    async with any_app.uow_factory() as uow:
        soon, _ = await issue_coupon(uow, any_app.policy, member.id, "birthday", "b", clock.now())
        later, _ = await issue_coupon(uow, any_app.policy, member.id, "ten_off", "t", clock.now())
        await issue_coupon(uow, any_app.policy, quiet.id, "birthday", "b", clock.now())
        await uow.commit()
    assert soon.last_valid_day("Asia/Shanghai") == date(2026, 7, 1)

    async def expiry() -> tuple[int, int]:
        async with any_app.uow_factory() as uow:
            run = await expire_and_remind(uow, any_app.policy, clock.now())
            await uow.commit()
        return run.expired, run.reminded

    clock.set(moment("2026-06-28 00:05 +08:00"))  # expires at 2 July 00:00: not yet 3 days
    assert await expiry() == (0, 0)
    clock.set(moment("2026-06-29 00:05 +08:00"))
    assert await expiry() == (0, 1)
    clock.set(moment("2026-06-30 00:05 +08:00"))
    assert await expiry() == (0, 0)  # once per coupon
    rows = await outbox_rows(any_app)
    assert [(r.dedupe_key, r.chat_id, r.quiet_hours) for r in rows] == [
        (f"coupon:{soon.id}:expiry-reminder", "501", True)
    ]
    clock.set(moment("2026-07-02 00:05 +08:00"))
    assert await expiry() == (2, 0)  # both birthday coupons; the 60-day one lives on
    async with any_app.uow_factory() as uow:
        assert [c.id for c in await uow.coupons.active_for(member.id, clock.now())] == [later.id]
        stored = await uow.coupons.get(soon.id or 0)
    assert stored is not None and stored.status.value == "expired"
    assert OutboxStatus.PENDING.value == rows[0].status


async def test_what_waited_for_the_morning_is_checked_again_after_stop_and_consent(
    any_app: App,
) -> None:
    """An offer and a greeting queued at 21:59 wait for 09:00; the member sends /stop at 22:00.
    At 09:00 neither may go (the greeting went: the sender looked at /stop for marketing only),
    while their own ticket's messages still do. Another member says no to surveys in /privacy
    while their invitation waits: it is not sent either."""
    shop = await seed_stores(any_app)
    stopper = await add_member(any_app, "1", store=shop.shanghai, chat=501, consent=True)
    no_surveys = await add_member(any_app, "2", store=shop.shanghai, chat=502)
    assert stopper.id and no_surveys.id
    clock = _clock(any_app)
    clock.set(moment("2026-06-15 21:59 +08:00"))
    evening = {
        "offer": (stopper.id, 501, MessageKind.MARKETING, "campaign.offer"),
        "greeting": (stopper.id, 501, MessageKind.SERVICE, "birthday.greeting"),
        "reminder": (stopper.id, 501, MessageKind.SERVICE, "coupons.expiry_reminder"),
        "checkin": (stopper.id, 501, MessageKind.SERVICE, "callbacks.checkin.vip"),
        "follow-up": (stopper.id, 501, MessageKind.SERVICE, "ticket.follow_up"),
        "invite": (no_surveys.id, 502, MessageKind.SERVICE, "surveys.invite"),
        "greeting-2": (no_surveys.id, 502, MessageKind.SERVICE, "birthday.greeting"),
    }
    for key, (member_id, chat, kind, message_key) in evening.items():
        await _queue(any_app, key, member_id, chat, kind=kind, quiet=True,
                     message_key=message_key)
    messenger = FakeMessenger()
    sender = _sender(any_app, messenger)
    await sender.drain(max_seconds=10)
    assert set((await _statuses(any_app)).values()) == {"deferred"}

    clock.set(moment("2026-06-15 22:00 +08:00"))
    (stopped,) = await say(any_app, "/stop", user=501)
    assert stopped.key == "stop.done"
    async with any_app.uow_factory() as uow:
        await set_consent(uow, any_app.policy, no_surveys.id, Purpose.SURVEYS, False,
                          clock.now())
        await uow.commit()
    await _queue(any_app, "reply", stopper.id, 501, message_key="ticket.staff_reply")
    await sender.drain(max_seconds=10)  # an answer goes at night, whatever /stop said

    clock.set(moment("2026-06-16 09:00 +08:00"))
    skipped_before = sender.stats.skipped
    await sender.drain(max_seconds=10)
    rows = {row.dedupe_key: (row.status, row.last_error) for row in await outbox_rows(any_app)}
    assert rows == {
        "offer": ("skipped", "no marketing consent"),
        "greeting": ("skipped", "sent /stop"),
        "reminder": ("skipped", "sent /stop"),
        "checkin": ("skipped", "sent /stop"),
        "follow-up": ("sent", "quiet hours"),  # why it waited stays on it
        "invite": ("skipped", "no surveys consent"),
        "greeting-2": ("sent", "quiet hours"),
        "reply": ("sent", ""),
    }
    assert sender.stats.skipped - skipped_before == 5
    assert len(messenger.to(501)) == 2 and len(messenger.to(502)) == 1


async def test_consents_are_read_once_per_claimed_batch_not_per_row(any_app: App) -> None:
    shop = await seed_stores(any_app)
    clock = _clock(any_app)
    clock.set(moment("2026-06-15 12:00 +08:00"))
    for n in range(1, 31):
        member = await add_member(any_app, str(n), store=shop.shanghai, chat=600 + n)
        assert member.id
        await _queue(any_app, f"invite:{n}", member.id, 600 + n, quiet=True,
                     message_key="surveys.invite")
        if n % 3 == 0:
            async with any_app.uow_factory() as uow:
                await set_consent(uow, any_app.policy, member.id, Purpose.SURVEYS, False,
                                  clock.now())
                await uow.commit()
    with statements(any_app, lambda line: "member_consents" in line) as consent_reads:
        sender = _sender(any_app, FakeMessenger())
        await sender.drain(max_seconds=10)
    assert sender.stats.sent == 20 and sender.stats.skipped == 10
    assert len(consent_reads) == 1  # one claim took all 30 rows
