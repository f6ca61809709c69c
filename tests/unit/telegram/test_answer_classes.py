"""aiogram reads every Bot API answer with a pydantic class built on first use and cached by weak
reference only; the adapter holds the classes of the calls it makes, so a garbage collection in
a running bot no longer throws one away to be built again (schema and all) for the next answer."""

from __future__ import annotations

import subprocess
import sys

# Run in a fresh interpreter: another test (or aiogram itself, at module level) may already hold
# the class in this one. The class is built inside a function, as aiogram does when it reads an
# answer, so nothing but the cache and the adapter refers to it.
PROBE = """
import gc, weakref
{setup}
from aiogram.methods import SendMessage
from aiogram.methods.base import Response

def answer_class():
    return weakref.ref(Response[SendMessage.__returning__])

ref = answer_class()
gc.collect()
print("kept" if ref() is not None else "dropped")
"""


def _probe(setup: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(setup=setup)],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return done.stdout.strip()


def test_without_the_adapter_a_collection_drops_the_answer_class() -> None:
    # What the adapter works around: if pydantic ever keeps these classes itself, this fails
    # and the pinning in bot.telegram.aiogram can go.
    assert _probe("") == "dropped"


def test_the_adapter_keeps_the_answer_classes_through_a_collection() -> None:
    assert _probe("import bot.telegram.aiogram") == "kept"
