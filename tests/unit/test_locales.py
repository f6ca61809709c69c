"""Every message exists in Chinese and English, with the same placeholders."""

from __future__ import annotations

import ast
import re
import string

from handlers.i18n import load_catalogs
from tests.support.paths import ROOT


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_zh_message_has_an_en_twin_and_vice_versa() -> None:
    catalogs = load_catalogs()
    assert set(catalogs["zh"]) == set(catalogs["en"])


def test_twins_use_the_same_placeholders() -> None:
    catalogs = load_catalogs()
    for key, english in catalogs["en"].items():
        assert _placeholders(english) == _placeholders(catalogs["zh"][key]), key


def _literal_keys_used_in_code() -> set[str]:
    """Message keys written as string literals in Reply(...), say(...), reply(...), Button(...)."""
    keys: set[str] = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            first = node.args[0]
            if (
                name in {"Reply", "say", "reply", "Button", "t"}
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", first.value)
            ):
                keys.add(first.value)
    return keys


def test_every_key_the_conversation_uses_is_translated() -> None:
    catalogs = load_catalogs()
    missing = sorted(k for k in _literal_keys_used_in_code() if k not in catalogs["en"])
    assert missing == []
