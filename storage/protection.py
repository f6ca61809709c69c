"""Encryption at rest of members' phones, names and birthdays, as column types: encrypted on
the way into the database, decrypted on the way out, so domain and handlers never see it.

With `RETAILBOT_DATA_KEY` set, the composition root installs the key (`install`) and:

- names and birthdays are encrypted with AES-256-GCM (authenticated, a random nonce per
  value): `g1:<key id>:<base64>`;
- phones are encrypted with AES-SIV (RFC 5297, authenticated and deterministic): the same
  phone always gives the same ciphertext under one key, so `phone = ?`, `phone IN (...)` and
  the unique constraint keep working. Its synthetic IV is a keyed PRF of the phone: this is the
  keyed hash of the exact look-ups, carried inside the ciphertext. It reveals which rows share
  a phone, which the unique constraint forbids anyway.
- what the other look-ups need stays beside them in the clear: the phone's last four digits
  (`members.phone_last4`, for the staff's search) and the birthday's month and day
  (`members.birthday_md`, for today's birthdays); neither identifies a person on its own.

Without a key, values are stored as before (birthdays as ISO dates), and values written in
the clear are read as they are: a database can be encrypted after the fact by `retailbot keys
rotate`, which also re-encrypts everything under a new key while the old one is still
installed (`RETAILBOT_OLD_DATA_KEYS`). A value under a key that is not installed cannot be
read: that is an error naming the key id, never a silent wrong value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

RANDOM_PREFIX = "g1:"
LOOKUP_PREFIX = "s1:"
MIN_KEY_BYTES = 32


class DataKeyError(ValueError):
    """The data key is missing, malformed, or not the one a value was written with."""


def _derive(secret: bytes, purpose: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt=b"retailbot data key", info=purpose).derive(secret)


@dataclass(frozen=True)
class DataKey:
    """One installed key: its id (in every value it wrote) and the two ciphers made from it."""

    key_id: str
    random: AESGCM
    lookup: AESSIV

    @classmethod
    def from_text(cls, text: str) -> DataKey:
        """A key as RETAILBOT_DATA_KEY holds it: base64 of at least 32 random bytes
        (`retailbot keys new` prints one)."""
        try:
            secret = base64.urlsafe_b64decode(text.strip().encode("ascii") + b"==")
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise DataKeyError("RETAILBOT_DATA_KEY must be base64 text") from exc
        if len(secret) < MIN_KEY_BYTES:
            raise DataKeyError(
                f"RETAILBOT_DATA_KEY must hold at least {MIN_KEY_BYTES} random bytes "
                f"(base64); it holds {len(secret)}"
            )
        key_id = hashlib.sha256(_derive(secret, b"key id", 32)).hexdigest()[:8]
        return cls(
            key_id,
            AESGCM(_derive(secret, b"names and birthdays", 32)),
            AESSIV(_derive(secret, b"exact look-ups", 64)),
        )


@dataclass
class _Keys:
    current: DataKey | None = None
    by_id: dict[str, DataKey] | None = None


_keys = _Keys()


def install(current: str | None, old: tuple[str, ...] = ()) -> None:
    """Use `current` for writing (None: write in the clear) and read values of any of
    `current` and `old`. Called by the composition root with the settings."""
    keys = [DataKey.from_text(text) for text in ((current,) if current else ()) + old]
    _keys.current = keys[0] if current else None
    _keys.by_id = {key.key_id: key for key in keys}


def current_key_id() -> str | None:
    return _keys.current.key_id if _keys.current else None


def is_encrypted(value: str | None) -> bool:
    return value is not None and value.startswith((RANDOM_PREFIX, LOOKUP_PREFIX))


def written_under(value: str | None) -> str | None:
    """The key id a stored value was written under (None: in the clear)."""
    if not is_encrypted(value):
        return None
    assert value is not None
    return value.split(":", 2)[1]


def encrypt(text: str, *, deterministic: bool) -> str:
    key = _keys.current
    if key is None:
        return text
    data = text.encode("utf-8")
    if deterministic:
        sealed = key.lookup.encrypt(data, [b"members"])
        return f"{LOOKUP_PREFIX}{key.key_id}:{base64.b64encode(sealed).decode('ascii')}"
    nonce = os.urandom(12)
    sealed = nonce + key.random.encrypt(nonce, data, b"members")
    return f"{RANDOM_PREFIX}{key.key_id}:{base64.b64encode(sealed).decode('ascii')}"


def decrypt(value: str) -> str:
    if not is_encrypted(value):
        return value
    prefix, key_id, body = value.split(":", 2)
    key = (_keys.by_id or {}).get(key_id)
    if key is None:
        raise DataKeyError(
            f"a member's data is encrypted under key {key_id}, which is not installed: set "
            "RETAILBOT_DATA_KEY (or RETAILBOT_OLD_DATA_KEYS while rotating)"
        )
    sealed = base64.b64decode(body)
    try:
        if prefix + ":" == LOOKUP_PREFIX:
            return key.lookup.decrypt(sealed, [b"members"]).decode("utf-8")
        return key.random.decrypt(sealed[:12], sealed[12:], b"members").decode("utf-8")
    except InvalidTag as exc:
        raise DataKeyError(f"a value under key {key_id} was altered or is corrupt") from exc


class ProtectedText(TypeDecorator[str]):
    """A name: encrypted with a random nonce when a key is installed."""

    impl = String
    cache_ok = True
    deterministic = False

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(str(value), deterministic=self.deterministic)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(str(value))


class ProtectedLookup(ProtectedText):
    """A phone: encrypted deterministically, so equality and IN look-ups still match."""

    cache_ok = True  # SQLAlchemy reads it from each class itself, not from the base
    deterministic = True


class ProtectedDate(TypeDecorator[date]):
    """A birthday: an ISO date in the clear, encrypted with a random nonce under a key."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        text = value.isoformat() if isinstance(value, date) else str(value)
        return encrypt(text, deterministic=False)

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        if value is None:
            return None
        if isinstance(value, date):
            return value
        return date.fromisoformat(decrypt(str(value))[:10])


def new_key_text() -> str:
    """A fresh key for RETAILBOT_DATA_KEY: 32 random bytes, base64."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii").rstrip("=")
