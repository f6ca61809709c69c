"""Settings from the environment (and a .env file) and the policy file, read once at start-up."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from bot.logs import check_level
from domain.shared.errors import PolicyError
from domain.shared.policy import Policy, policy_from_mapping

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///retailbot.db"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org"
ENGINES = ("aiogram", "ptb")


class ConfigError(ValueError):
    """A setting is wrong; the message says which and what is expected."""


@dataclass(frozen=True)
class Settings:
    """Everything read from the environment. Every field has a safe default."""

    database_url: str = DEFAULT_DATABASE_URL
    bot_token: str | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    bot_engine: str = "aiogram"
    staff_chat_id: int | None = None
    admin_ids: tuple[int, ...] = ()
    config_path: Path | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1:8080"
    log_level: str = "INFO"
    # Encryption at rest of phones, names and birthdays (storage.protection); the old keys are
    # still read while `retailbot keys rotate` re-encrypts under the new one.
    data_key: str | None = None
    old_data_keys: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dotenv: bool = True
    ) -> Settings:
        """Read settings from `environ` (default os.environ) over a .env file in the cwd."""
        values: dict[str, str] = {}
        if dotenv and Path(".env").is_file():
            values.update({k: v for k, v in dotenv_values(".env").items() if v is not None})
        values.update(os.environ if environ is None else environ)

        engine = values.get("BOT_ENGINE", "aiogram").strip().lower() or "aiogram"
        if engine not in ENGINES:
            raise ConfigError(f"BOT_ENGINE must be 'aiogram' or 'ptb', not {engine!r}")
        config_path = values.get("RETAILBOT_CONFIG")
        if config_path:
            path: Path | None = Path(config_path)
        else:
            path = Path("retailbot.toml") if Path("retailbot.toml").is_file() else None
        return cls(
            database_url=values.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            bot_token=values.get("BOT_TOKEN") or None,
            telegram_api_url=(values.get("TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API_URL).rstrip(
                "/"
            ),
            bot_engine=engine,
            staff_chat_id=_int_or_none(values.get("STAFF_CHAT_ID"), "STAFF_CHAT_ID"),
            admin_ids=_int_list(values.get("ADMIN_IDS", ""), "ADMIN_IDS"),
            config_path=path,
            webhook_url=values.get("WEBHOOK_URL") or None,
            webhook_secret=values.get("WEBHOOK_SECRET") or None,
            webhook_listen=values.get("WEBHOOK_LISTEN") or "127.0.0.1:8080",
            log_level=_log_level(values.get("LOG_LEVEL") or "INFO"),
            data_key=values.get("RETAILBOT_DATA_KEY") or None,
            old_data_keys=tuple(
                k.strip() for k in values.get("RETAILBOT_OLD_DATA_KEYS", "").split(",")
                if k.strip()
            ),
        )

    def load_policy(self) -> Policy:
        """The policy file if one is configured, else the demo policy."""
        if self.config_path is None:
            return Policy()
        if not self.config_path.is_file():
            raise ConfigError(f"the policy file {self.config_path} does not exist")
        try:
            data = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{self.config_path}: {exc}") from exc
        try:
            return policy_from_mapping(data)
        except PolicyError as exc:
            raise ConfigError(f"{self.config_path}: {exc}") from exc


# What @BotFather hands out: the bot's numeric id, a colon, and a secret of letters, digits, _ and
# -. Checked before anything starts, so a pasted quote or a missing half is one clear line.
_TOKEN_PATTERN = re.compile(r"[0-9]{3,20}:[A-Za-z0-9_-]{20,100}")


def require_token(token: str | None) -> str:
    """The token, or a ConfigError saying it is not set."""
    if not token:
        raise ConfigError("BOT_TOKEN is not set: create a bot with @BotFather and set its token")
    return token


def check_token(token: str | None) -> str:
    """The token when it looks like one @BotFather issues; else a ConfigError that never
    repeats the token (it is a secret even when mistyped)."""
    token = require_token(token)
    if not _TOKEN_PATTERN.fullmatch(token):
        shape = "has spaces or quotes" if re.search(r"[\s'\"]", token) else "is malformed"
        raise ConfigError(
            f"BOT_TOKEN {shape}: it must look like 123456789:AA... (digits, a colon, then "
            "letters, digits, _ and -), exactly as @BotFather gave it"
        )
    return token


def _log_level(raw: str) -> str:
    try:
        return check_level(raw)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _int_or_none(raw: str | None, name: str) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError as exc:
        raise ConfigError(
            f"{name} must be a Telegram chat id (a whole number), not {raw!r}"
        ) from exc


def _int_list(raw: str, name: str) -> tuple[int, ...]:
    items = [part.strip() for part in raw.split(",") if part.strip()]
    try:
        return tuple(int(item) for item in items)
    except ValueError as exc:
        raise ConfigError(
            f"{name} must be comma-separated Telegram user ids, not {raw!r}"
        ) from exc
