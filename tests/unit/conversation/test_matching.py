"""The matcher's parts on their own: slips of a pinyin keyboard, word weights, guesses."""

from __future__ import annotations

import pytest

from bot.bootstrap import feature_routers
from handlers.intents import IntentMatcher, fold_variants
from tests.unit.conversation.corpus import matcher_of


@pytest.fixture(scope="module")
def matcher() -> IntentMatcher:
    return matcher_of(feature_routers())


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("优惠卷", "优惠券"), ("优惠劵", "优惠券"), ("积份", "积分"), ("積分", "积分"),
        ("jifen", "积分"),
    ],
)
def test_slips_of_a_pinyin_keyboard_are_put_right(typed: str, meant: str) -> None:
    assert fold_variants(typed) == meant


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我的优惠卷", "coupons"),
        ("查一下我的积份", "points"),
        ("exchange my points", "exchange"),
        ("what can I get with my points", "exchange"),
        ("积分能换什么", "exchange"),
        ("用积分换券", "exchange"),
        ("how do I earn points", "how_points"),
        ("怎样获得积分", "how_points"),
        ("买的鸡蛋是坏的", "complaint"),
        ("收银员态度很差", "complaint"),
        ("are you open on sunday", "hours"),
        ("退换货规则", "returns"),
        ("个人信息", "profile"),
        ("pionts", "points"),
    ],
)
def test_what_members_really_type_is_understood(
    matcher: IntentMatcher, text: str, intent: str
) -> None:
    sure = matcher.guess(text).sure
    assert sure is not None and sure.name == intent


def test_exchange_outweighs_points_when_both_are_said(matcher: IntentMatcher) -> None:
    scores = {m.name: m.score for m in matcher.scores("exchange points")}
    assert scores["exchange"] > scores["points"]


def test_an_unclear_message_gets_at_most_three_guesses_and_gibberish_none(
    matcher: IntentMatcher,
) -> None:
    unclear = matcher.guess("points coupon")
    assert unclear.sure is None and 2 <= len(unclear.guesses) <= 3
    assert matcher.guess("qwxz vbnm").best is None
