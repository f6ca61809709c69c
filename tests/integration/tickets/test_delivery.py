"""Delivering ticket messages: a forum topic per ticket in the staff group (made once), replies
to the card in a group without topics, photos relayed by file id, and the way back."""

from __future__ import annotations

from bot.bootstrap import App, build_sender
from domain.messaging.policy import DeliveryPolicy
from scheduler.sender import OutboxSender
from tests.support.conversation import MEMBER, photo, say
from tests.support.tickets import (
    AGENT,
    STAFF_GROUP,
    ForumMessenger,
    complain,
    outbox_to,
    seed_desk,
)


def _sender(app: App, messenger: ForumMessenger) -> OutboxSender:
    # No quiet hours and a fast pace: these tests are about where messages go.
    app.policy = type(app.policy)(
        tickets=app.policy.tickets,
        delivery=DeliveryPolicy(rate_per_second=500, per_chat_interval=0.01, quiet_start=None,
                                quiet_end=None),
    )
    return build_sender(app, messenger, poll_interval=0.05)


async def test_each_ticket_gets_one_forum_topic_and_staff_answers_in_it_reach_the_member(
    any_app: App,
) -> None:
    app = any_app
    await seed_desk(app)
    messenger = ForumMessenger(forums={str(STAFF_GROUP)})
    await complain(app)
    await say(app, "It was the 1 litre bottle")
    await photo(app, "AgACmember", "the bottle")
    await complain(app, "the cashier was rude", category="service")
    await _sender(app, messenger).drain(max_seconds=20)

    assert [(chat, name) for chat, name, _ in messenger.topics] == [
        (str(STAFF_GROUP), "T-000001 · Product quality"),
        (str(STAFF_GROUP), "T-000002 · Service"),
    ]
    first_thread, second_thread = messenger.topics[0][2], messenger.topics[1][2]
    in_group = messenger.to(STAFF_GROUP)
    # Each ticket's messages in its own topic, in order (tickets may interleave).
    first = [m for m in in_group if m.thread_id == first_thread]
    second = [m for m in in_group if m.thread_id == second_thread]
    assert len(first) == 3 and len(second) == 1 and len(in_group) == 4
    assert first[0].text.startswith("🆕 T-000001") and first[0].buttons
    assert first[1].text.endswith("It was the 1 litre bottle")
    assert first[2].photo_file_id == "AgACmember" and first[2].text.endswith("the bottle")
    assert second[0].text.startswith("🆕 T-000002")
    assert all(m.reply_to is None for m in in_group)  # the topic keeps them together

    # A staff answer in the first topic goes to the member, with the photo by its file id.
    await photo(app, "AgACstaff", "Here is your refund slip", user=AGENT,
                chat=STAFF_GROUP, thread_id=first_thread)
    await _sender(app, messenger).drain(max_seconds=20)
    (to_member,) = messenger.to(MEMBER)
    assert to_member.photo_file_id == "AgACstaff" and "refund slip" in to_member.text
    assert to_member.thread_id is None and to_member.reply_to is None
    rows = await outbox_to(app, STAFF_GROUP)
    assert all(r.status == "sent" and r.sent_message_id for r in rows)


async def test_in_a_group_without_topics_the_ticket_is_a_thread_of_replies_to_its_card(
    app: App,
) -> None:
    await seed_desk(app)
    messenger = ForumMessenger()  # the staff group is no forum
    await complain(app)
    await say(app, "It was the 1 litre bottle")
    await _sender(app, messenger).drain(max_seconds=20)
    card, relayed = messenger.to(STAFF_GROUP)
    assert messenger.topics == [] and card.thread_id is None
    assert card.reply_to is None and relayed.reply_to == card.message_id

    # Staff reply to the relayed message: it finds its ticket.
    (sent,) = await say(app, "We will call you", user=AGENT, chat=STAFF_GROUP,
                        reply_to=relayed.message_id)
    assert sent.key == "desk.replied"
    await _sender(app, messenger).drain(max_seconds=20)
    assert [m.text for m in messenger.to(MEMBER)][-1].endswith("We will call you")
