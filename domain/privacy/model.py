"""Privacy values: the purposes a member consents to, consent states and their log, erasure
requests, likely duplicates and what retention removed."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Purpose(enum.StrEnum):
    """What a member's data may be used for, each consented to on its own.

    Marketing is opt-in (nothing is sent without a yes); the other three are what the chain
    does for every member unless they say no (an opt-out), so a member who never opened
    /privacy is asked surveys and sits in segments as before. Whatever the default, turning a
    purpose off is one tap, as easy as turning it on.
    """

    MARKETING = "marketing"
    SURVEYS = "surveys"
    PROFILING = "profiling"  # RFM segments, churn lists, personalised offers
    CALLS = "calls"  # callbacks by phone

    @property
    def opt_in(self) -> bool:
        return self is Purpose.MARKETING


class ConsentSource(enum.StrEnum):
    """How a consent was given or withdrawn."""

    CHAT = "chat"  # /privacy, the join flow, /profile
    STOP = "stop"  # /stop: all marketing off
    IMPORT = "import"  # the members CSV's marketing_consent column
    STAFF = "staff"  # an admin on the command line, at the member's request
    MERGE = "merge"  # two members merged: the most restrictive consent won
    DEFAULT = "default"  # nothing recorded: the purpose's default
    ERASED = "erased"  # the member was erased: nothing may be used any more


@dataclass(frozen=True)
class Consent:
    """One purpose's state for a member, with when, how and under which wording it was set."""

    purpose: Purpose
    granted: bool
    source: ConsentSource
    changed_at: datetime | None = None
    wording_version: str = ""


@dataclass(frozen=True)
class ConsentChange:
    """A row of the consent log: every change is kept, never edited."""

    member_id: int
    purpose: Purpose
    granted: bool
    source: ConsentSource
    at: datetime
    wording_version: str = ""
    id: int | None = None


@dataclass(frozen=True)
class ErasureRequest:
    """A member asked to delete their account; it is carried out at `due_at` unless cancelled."""

    member_id: int
    requested_at: datetime
    due_at: datetime
    cancelled_at: datetime | None = None
    done_at: datetime | None = None
    id: int | None = None

    @property
    def pending(self) -> bool:
        return self.cancelled_at is None and self.done_at is None


@dataclass(frozen=True)
class MemberFacts:
    """What the duplicate search compares: no ledger, no texts."""

    id: int
    member_no: str
    name: str
    phone: str | None
    birthday_md: int | None
    birth_year: int | None
    home_store_id: int | None
    email_like: str = ""  # reserved: nothing holds e-mail today


@dataclass(frozen=True)
class DuplicatePair:
    """Two members that are probably one person, the evidence and a score out of 100."""

    first: MemberFacts
    second: MemberFacts
    score: int
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class MergeResult:
    """What a merge moved: rows per feature, and the kept member's new figures."""

    kept_id: int
    dropped_id: int
    dropped_member_no: str
    moved: dict[str, int]
    balance: int
    tier: str
    dry_run: bool = False


@dataclass
class RetentionRun:
    """What the retention job removed, per kind of data."""

    removed: dict[str, int] = field(default_factory=dict)
    erased_members: int = 0

    def summary(self) -> str:
        parts = [f"{kind} {count}" for kind, count in sorted(self.removed.items())]
        parts.append(f"accounts deleted {self.erased_members}")
        return "removed: " + ", ".join(parts)
