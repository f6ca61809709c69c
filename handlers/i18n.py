"""The translator: message keys and parameters become Chinese or English text."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.members.model import LANGUAGES

log = logging.getLogger(__name__)
LOCALES = Path(__file__).parent / "locales"
FALLBACK = "en"


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


def load_catalogs(folder: Path = LOCALES) -> dict[str, dict[str, str]]:
    """Read `en.toml`, `en.*.toml`, `zh.toml`, `zh.*.toml`: a file per feature eases merges."""
    catalogs: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        merged: dict[str, str] = {}
        for path in sorted([*folder.glob(f"{lang}.toml"), *folder.glob(f"{lang}.*.toml")]):
            table = _flatten(tomllib.loads(path.read_text(encoding="utf-8")))
            clash = merged.keys() & table.keys()
            if clash:
                raise ValueError(f"{path.name} defines keys already defined: {sorted(clash)}")
            merged.update(table)
        catalogs[lang] = merged
    return catalogs


# How each language writes an amount of a currency; others are written "12.50 EUR".
MONEY_FORMATS = {
    ("zh", "CNY"): "{amount} 元",
    ("en", "CNY"): "¥{amount}",
}


def money(lang: str, amount: Decimal | float | int, currency: str) -> str:
    """An amount the one way this language writes it: "10 元" in Chinese, "¥10" in English.

    Whole amounts drop their decimals (20, not 20.00); others keep two (12.50).
    """
    value = Decimal(str(amount))
    text = f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"
    pattern = MONEY_FORMATS.get((lang, currency.upper()), "{amount} {currency}")
    return pattern.format(amount=text, currency=currency)


class _Params(dict[str, Any]):
    """Leaves a missing parameter visible as {name} instead of raising mid-conversation."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Translator:
    """Looks a key up in the member's language, falling back to English, then to the key."""

    def __init__(self, catalogs: dict[str, dict[str, str]] | None = None) -> None:
        self.catalogs = catalogs if catalogs is not None else load_catalogs()

    def has(self, lang: str, key: str) -> bool:
        return key in self.catalogs.get(lang, {})

    def __call__(self, lang: str, key: str, **params: Any) -> str:
        template = self.catalogs.get(lang, {}).get(key)
        if template is None:
            template = self.catalogs.get(FALLBACK, {}).get(key)
            if template is None:
                log.error("message key %r is missing in every language", key)
                return key
            log.warning("message key %r is missing in %r", key, lang)
        return template.format_map(_Params(params))
