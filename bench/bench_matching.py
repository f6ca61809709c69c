"""Matching free text: the weighted-feature matcher against plain rapidfuzz, in the same run.

Every utterance of the labelled corpus (tests/unit/conversation/corpus_*.tsv) is matched many
times by the matcher the conversation uses (handlers.intents.IntentMatcher.guess, over every
feature's phrases and the default FAQ) and, as the baseline, by one
`rapidfuzz.process.extractOne(text, phrases, scorer=fuzz.WRatio)` over the same phrases: the
least any rapidfuzz matcher does per message. Figures: microseconds per message, and the ratio.

    PYTHONPATH=. python bench/bench_matching.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapidfuzz import fuzz, process

from bot.bootstrap import feature_routers
from domain.members.policy import DEFAULT_FAQ
from handlers.intents import normalise
from tests.unit.conversation.corpus import HELD_OUT, TUNE, load, matcher_of


def per_message(work: object, texts: list[str], rounds: int) -> float:
    """Best of `rounds` passes over `texts`, in microseconds per message."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            work(text)  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best / len(texts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    texts = [row.text for row in load(TUNE) + load(HELD_OUT)]
    routers = feature_routers()
    matcher = matcher_of(routers)
    phrases = [normalise(p) for r in routers for _h, ps, _m in r.intents.values() for p in ps]
    phrases += [normalise(q) for entry in DEFAULT_FAQ for q in entry.questions]

    def baseline(text: str) -> object:
        return process.extractOne(normalise(text), phrases, scorer=fuzz.WRatio)

    ours = per_message(matcher.guess, texts, args.rounds)
    plain = per_message(baseline, texts, args.rounds)
    print(f"{len(texts)} messages, {len(phrases)} phrases, best of {args.rounds} passes")
    print(f"matcher (guess):            {ours:8.1f} µs per message")
    print(f"baseline (WRatio extractOne): {plain:6.1f} µs per message")
    print(f"matcher / baseline:         {ours / plain:8.2f}")


if __name__ == "__main__":
    main()
