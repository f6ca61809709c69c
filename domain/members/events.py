"""What membership tells other features: a member's marketing consent changed."""

from __future__ import annotations

from dataclasses import dataclass

from domain.shared.events import Event


@dataclass(frozen=True)
class MarketingConsentChanged(Event):
    """Marketing consent was given or withdrawn (`source`: chat, stop, join); privacy keeps
    it in the consent log."""

    member_id: int
    granted: bool
    source: str = "chat"
