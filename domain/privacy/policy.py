"""The [privacy] section of retailbot.toml: consent wording, the cooling-off period of an
account deletion, and how long free texts are kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.shared.policy_values import whole_number


@dataclass(frozen=True)
class RetentionPolicy:
    """Months after which free texts are removed (0 keeps them for ever).

    Defaults: what a complaint or a survey says is useful for two years of trend and dispute
    handling; a chat's half-typed state and the text of messages already delivered are of no
    use after six months.
    """

    ticket_texts_months: int = 24  # ticket descriptions, thread texts and photos
    survey_comments_months: int = 24
    chat_states_months: int = 6  # a conversation left half-way (typed name, draft complaint)
    outbox_texts_months: int = 6  # parameters of messages sent or given up


@dataclass(frozen=True)
class PrivacyPolicy:
    """Consent wording, deletion and retention."""

    # The version of the consent wording shown in /privacy; stored with every consent given,
    # so the chain can show which text a member agreed to. Change it when the text changes.
    consent_wording_version: str = "2026-11"
    # Days between "delete my account" and the deletion; /privacy can cancel until then.
    erase_cooling_off_days: int = 7
    retention: RetentionPolicy = RetentionPolicy()


def privacy_policy_from_mapping(data: Mapping[str, Any]) -> PrivacyPolicy:
    """[privacy] as a PrivacyPolicy; every key is optional."""
    defaults = PrivacyPolicy()
    kept = RetentionPolicy()

    def months(key: str, default: int) -> int:
        return whole_number(data.get(key, default), f"privacy.{key}", 0)

    return PrivacyPolicy(
        consent_wording_version=str(
            data.get("consent_wording_version", defaults.consent_wording_version)
        )[:32],
        erase_cooling_off_days=whole_number(
            data.get("erase_cooling_off_days", defaults.erase_cooling_off_days),
            "privacy.erase_cooling_off_days",
            0,
        ),
        retention=RetentionPolicy(
            ticket_texts_months=months("ticket_texts_months", kept.ticket_texts_months),
            survey_comments_months=months("survey_comments_months", kept.survey_comments_months),
            chat_states_months=months("chat_states_months", kept.chat_states_months),
            outbox_texts_months=months("outbox_texts_months", kept.outbox_texts_months),
        ),
    )
