"""Reading values of retailbot.toml: numbers, tables, clock times, with clear errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from typing import Any

from domain.shared.errors import PolicyError


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same mistake
        raise PolicyError(f"{where} must be a number, not {value!r}") from exc


def _not_negative(value: Any, where: str) -> Decimal:
    number = _decimal(value, where)
    if not number.is_finite() or number < 0:
        raise PolicyError(f"{where} must be a number of 0 or more, not {value!r}")
    return number


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where} must be a table ([{where}])")
    return value


def _int(value: Any, where: str, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{where} must be a whole number, not {value!r}") from exc
    if number < minimum:
        raise PolicyError(f"{where} must be at least {minimum}, not {number}")
    return number


def _positive(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{where} must be a number, not {value!r}") from exc
    if number <= 0:
        raise PolicyError(f"{where} must be above 0, not {number}")
    return number


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
