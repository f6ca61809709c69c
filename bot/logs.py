"""Logging that never carries a secret or personal data, whatever LOG_LEVEL says.

Libraries log more than we would: httpx writes every request URL at INFO (the Bot API URL holds
the bot token), PTB writes whole updates (names, phones, message text) at DEBUG, SQLAlchemy
writes statements with their parameters once its logger is enabled. Their loggers are held at
levels that say nothing personal, and every record is scrubbed of the token before it exists.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Logger -> the most it may say. httpx/httpcore: request lines (the token is in the URL);
# telegram: PTB's DEBUG dumps API parameters and updates; sqlalchemy.engine: SQL parameters.
QUIET_LIBRARIES = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    "sqlalchemy.pool": logging.WARNING,
    "aiosqlite": logging.INFO,
    "asyncio": logging.INFO,
}

REDACTED = "<BOT_TOKEN>"
# PostgreSQL repeats the values of a violated key in its error ("Key (phone)=(+86138...)
# already exists"): the column is kept, the value is not.
_KEY_DETAIL = re.compile(r"(Key \([^)]*\))=\((?:[^()]|\([^()]*\))*\)")
_secrets: set[str] = set()
_original_factory: Callable[..., logging.LogRecord] | None = None


def quiet_libraries() -> None:
    """Hold the chatty libraries' loggers where they say nothing secret or personal."""
    for name, level in QUIET_LIBRARIES.items():
        logging.getLogger(name).setLevel(level)


def redact_secret(secret: str | None) -> None:
    """From now on no log record holds `secret` (the bot token): it reads <BOT_TOKEN>; nor the
    key values a database error repeats. Installed once, whatever the secret."""
    global _original_factory
    if secret:
        _secrets.add(secret)
    if _original_factory is not None:
        return
    _original_factory = logging.getLogRecordFactory()
    original = _original_factory

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's business, not ours
            return record
        if any(s in message for s in _secrets) or "Key (" in message:
            record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # A traceback's text is made later; an exception naming a URL would hold the token,
            # a database error the values of a key.
            record.exc_text = _scrubbed_traceback(record)
        return record

    logging.setLogRecordFactory(factory)


def scrub(text: str) -> str:
    """`text` with every registered secret replaced: for messages printed to the operator."""
    for s in _secrets:
        text = text.replace(s, REDACTED)
    return _KEY_DETAIL.sub(r"\1=(...)", text) if "Key (" in text else text


def _scrubbed_traceback(record: logging.LogRecord) -> str:
    return scrub(logging.Formatter().formatException(record.exc_info))  # type: ignore[arg-type]


def check_level(raw: str) -> str:
    """LOG_LEVEL upper-cased, or ValueError naming the levels there are."""
    level = raw.strip().upper()
    if level not in LEVELS:
        raise ValueError(f"LOG_LEVEL must be one of {', '.join(LEVELS)}, not {raw!r}")
    return level
