"""The labelled corpus of member utterances and the figures the matcher gets on it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from domain.members.policy import DEFAULT_FAQ
from handlers.intents import IntentMatcher, Match
from handlers.routing import Router

HERE = Path(__file__).parent
TUNE = HERE / "corpus_tune.tsv"
HELD_OUT = HERE / "corpus_heldout.tsv"


@dataclass(frozen=True)
class Utterance:
    lang: str
    label: str
    text: str


def load(path: Path) -> list[Utterance]:
    """Rows of `language <tab> label <tab> text`; lines starting with # are comments."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path.name} line {number}: expected 3 tab-separated columns")
        rows.append(Utterance(*parts))
    return rows


def matcher_of(routers: list[Router]) -> IntentMatcher:
    """The matcher the conversation builds, with the default FAQ."""
    merged = Router()
    for router in routers:
        merged.include(router)
    return IntentMatcher(
        {name: phrases for name, (_h, phrases, _m) in merged.intents.items()}, DEFAULT_FAQ, 80.0
    )


def label_of(match: Match | None) -> str:
    if match is None:
        return "none"
    return f"faq:{match.name}" if match.kind == "faq" else match.name


@dataclass
class Figures:
    total: int = 0
    right: int = 0
    per_label: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[tuple[Utterance, str]] = field(default_factory=list)
    asked: int = 0  # no sure match: the member was offered guesses as buttons
    asked_right: int = 0  # ... and the right one was among them

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0

    def report(self, title: str) -> str:
        lines = [
            f"{title}: {self.right}/{self.total} = {self.accuracy:.1%} "
            f"(asked {self.asked}, the right answer among the buttons {self.asked_right})"
        ]
        for label in sorted(self.per_label):
            right, total = self.per_label[label]
            lines.append(f"  {label:<16} {right:>3}/{total:<3} {right / total:6.1%}")
        wrong = [(pair, n) for pair, n in self.confusion.most_common() if pair[0] != pair[1]]
        if wrong:
            lines.append("  confusion (expected -> got: count)")
            lines.extend(f"    {want} -> {got}: {n}" for (want, got), n in wrong)
        return "\n".join(lines)


def evaluate(matcher: IntentMatcher, rows: list[Utterance], lang: str) -> Figures:
    figures = Figures()
    for row in rows:
        if row.lang != lang:
            continue
        guess = matcher.guess(row.text)
        # Only a sure match counts: a guess the member must confirm is not understanding.
        got = label_of(guess.sure)
        if guess.sure is None and guess.guesses:
            figures.asked += 1
            figures.asked_right += row.label in {label_of(m) for m in guess.guesses}
        figures.total += 1
        figures.per_label[row.label][1] += 1
        figures.confusion[(row.label, got)] += 1
        if got == row.label:
            figures.right += 1
            figures.per_label[row.label][0] += 1
        else:
            figures.misses.append((row, got))
    return figures
