"""Errors a person can act on: each carries a message key and parameters for the translator."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule refused a request; `key` names the message shown to the person who asked."""

    key = "error.generic"

    def __init__(self, detail: str, *, key: str | None = None, **params: Any) -> None:
        super().__init__(detail)
        if key is not None:
            self.key = key
        self.params = params


class InvalidPhone(DomainError):
    key = "error.invalid_phone"


class MemberNotFound(DomainError):
    key = "error.member_not_found"


class PhoneTaken(DomainError):
    key = "error.phone_taken"


class InsufficientPoints(DomainError):
    key = "error.insufficient_points"


class BirthdayLocked(DomainError):
    key = "profile.birthday_locked"


class InvalidInput(DomainError):
    key = "error.invalid_input"


class PolicyError(ValueError):
    """The policy file is wrong; the message names the key and what is expected."""
