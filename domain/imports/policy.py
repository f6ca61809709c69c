"""The [imports] section of retailbot.toml: what a plausible row of the chain's files is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.shared.errors import PolicyError
from domain.shared.policy_values import non_negative_decimal, whole_number


@dataclass(frozen=True)
class ImportPolicy:
    """Limits a receipt must keep to be imported; every field has a safe default."""

    # A receipt above this amount is refused with the reason (a typo of a few zeros would
    # otherwise earn millions of points).
    max_receipt_amount: Decimal = Decimal("50000")
    # Receipts older than this many days are refused (a date of 1970 is a missing value).
    oldest_receipt_days: int = 1095


def import_policy_from_mapping(data: Mapping[str, Any]) -> ImportPolicy:
    """The [imports] table; PolicyError naming the key that is wrong."""
    default = ImportPolicy()
    maximum = non_negative_decimal(
        data.get("max_receipt_amount", default.max_receipt_amount), "imports.max_receipt_amount"
    )
    if maximum <= 0:
        raise PolicyError(f"imports.max_receipt_amount must be above 0, not {maximum}")
    return ImportPolicy(
        max_receipt_amount=maximum,
        oldest_receipt_days=whole_number(
            data.get("oldest_receipt_days", default.oldest_receipt_days),
            "imports.oldest_receipt_days",
            1,
        ),
    )
