"""Reading values of retailbot.toml: tables, keys, numbers, clock times, with clear errors.

Every feature parses its own section of the policy file (`domain/<feature>/policy.py`) with
these readers, so a mistake reads the same whichever section it is in: a PolicyError whose
message names the key as it is written in the file ("tickets.reopen_days", "tiers[1].multiplier")
and the value that is wrong. Each reader takes the raw value (whatever TOML gave, or the
default when the key is left out) and `where`, the key's dotted name for that message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from typing import Any

from domain.shared.errors import PolicyError

# What a key that travels in button data may look like (see is_short_key).
_SHORT_KEY = re.compile(r"[a-z0-9_]{1,24}")


# -- tables and keys ----------------------------------------------------------------------------


def table(value: Any, where: str) -> Mapping[str, Any]:
    """`value` as a table ([where] in the file); a PolicyError when it is something else."""
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where} must be a table ([{where}])")
    return value


def section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The table [name] at the top of the file; empty when it is left out (all defaults)."""
    return table(data.get(name, {}), name)


def array_of_tables(value: Any, where: str) -> list[Mapping[str, Any]]:
    """`value` as an array of tables ([[where]] in the file), each checked to be a table."""
    if not isinstance(value, list):
        raise PolicyError(f"{where} must be a list of [[{where}]] tables")
    return [table(item, f"{where}[{i}]") for i, item in enumerate(value)]


def key_of(entry: Mapping[str, Any], where: str) -> str:
    """The `key` of a listed entry (a tier, a ticket category...), which it must have."""
    if "key" not in entry:
        raise PolicyError(f"{where} needs a key")
    return str(entry["key"])


def is_short_key(text: str) -> bool:
    """Whether a key may travel in button data: 1-24 lower-case letters, digits or _.

    Telegram limits a button's data to 64 bytes, shared with a prefix and ids; such a key
    takes at most 24 of them.
    """
    return _SHORT_KEY.fullmatch(text) is not None


# -- numbers ------------------------------------------------------------------------------------


def decimal_number(value: Any, where: str) -> Decimal:
    """An exact number (money, multipliers): `value` as a Decimal."""
    try:
        return Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same mistake
        raise PolicyError(f"{where} must be a number, not {value!r}") from exc


def non_negative_decimal(value: Any, where: str) -> Decimal:
    """An exact number of 0 or more (a negative rate would make a purchase cost points)."""
    number = decimal_number(value, where)
    if not number.is_finite() or number < 0:
        raise PolicyError(f"{where} must be a number of 0 or more, not {value!r}")
    return number


def number(value: Any, where: str) -> float:
    """A number where a float is exact enough: hours, shares, percentages, rates."""
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{where} must be a number, not {value!r}") from exc


def positive_number(value: Any, where: str) -> float:
    """A number above 0 (a rate or a delay of 0 would stop everything)."""
    found = number(value, where)
    if found <= 0:
        raise PolicyError(f"{where} must be above 0, not {found}")
    return found


def whole_number(value: Any, where: str, minimum: int | None = None) -> int:
    """A whole number (days, months, counts), at least `minimum` when one is given."""
    try:
        found = int(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{where} must be a whole number, not {value!r}") from exc
    if minimum is not None and found < minimum:
        raise PolicyError(f"{where} must be at least {minimum}, not {found}")
    return found


# -- times --------------------------------------------------------------------------------------


def parse_clock_time(value: Any, where: str) -> time:
    """"09:00" as a time of day; the message names the key when it is not one."""
    text = str(value).strip()
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise PolicyError(
            f"{where} must be a time of day such as \"09:00\", not {text!r}"
        ) from exc
