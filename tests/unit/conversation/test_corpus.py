"""How well free text is understood, measured on the labelled corpus of member utterances.

Run with `pytest -s tests/unit/conversation` to see accuracy per intent and the confusion table.
The held-out file was written with the tuning file and never used to tune the matcher.
"""

from __future__ import annotations

import pytest

from bot.bootstrap import feature_routers
from handlers.intents import IntentMatcher
from tests.unit.conversation.corpus import HELD_OUT, TUNE, evaluate, load, matcher_of

HELD_OUT_BAR = 0.90


@pytest.fixture(scope="module")
def matcher() -> IntentMatcher:
    return matcher_of(feature_routers())


def test_the_corpus_has_300_labelled_utterances_in_both_languages() -> None:
    rows = load(TUNE) + load(HELD_OUT)
    assert len(rows) >= 300
    for lang in ("zh", "en"):
        mine = [r for r in rows if r.lang == lang]
        assert len(mine) >= 120
        # Greetings, thanks and chit-chat that must not open a feature are part of it.
        assert {"greeting", "thanks", "smalltalk", "none"} <= {r.label for r in mine}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_members_are_understood_on_held_out_messages(matcher: IntentMatcher, lang: str) -> None:
    figures = evaluate(matcher, load(HELD_OUT), lang)
    report = figures.report(f"held-out {lang}")
    print("\n" + report)
    assert figures.accuracy >= HELD_OUT_BAR, report


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_tuning_messages_stay_understood(matcher: IntentMatcher, lang: str) -> None:
    figures = evaluate(matcher, load(TUNE), lang)
    report = figures.report(f"tuning {lang}")
    print("\n" + report)
    assert figures.accuracy >= 0.95, report


def test_greetings_and_thanks_never_open_a_feature(matcher: IntentMatcher) -> None:
    social = [r for r in load(TUNE) + load(HELD_OUT) if r.label in ("greeting", "thanks")]
    for row in social:
        best = matcher.guess(row.text).best
        assert best is None or best.name in ("greeting", "thanks", "smalltalk"), row.text
