"""How a date, a yes/no and "skip" are read, one way for the chat and for the import.

Pure functions, no I/O: the join flow in the chat and a members.csv import must agree on what
`1999/2/3` or `是` means, so both call these.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# 1999-02-03, 1999/2/3, 1999.2.3, 1999 2 3, 1999年2月3日 (the 日 or 号 may be left off), 19990203.
_DATE = re.compile(r"(\d{4})\s*[-/.年\s]\s*(\d{1,2})\s*[-/.月\s]\s*(\d{1,2})\s*[日号]?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")

YES_NO: dict[str, bool] = {
    **dict.fromkeys(
        ("true", "yes", "y", "1", "ok", "okay", "sure", "是", "是的", "好", "好的", "可以", "要",
         "同意", "对"),
        True,
    ),
    **dict.fromkeys(
        ("false", "no", "n", "0", "nope", "否", "不", "不要", "不用", "不同意", "不是", "没有"),
        False,
    ),
}
SKIP_WORDS = frozenset(
    ("skip", "pass", "later", "none", "-", "跳过", "略过", "不填", "以后再说", "算了", "不想说")
)


def _fold(text: str) -> str:
    # Full-width digits and letters (１９９９) as a Chinese keyboard types them, lower case.
    return unicodedata.normalize("NFKC", text).strip().lower()


def read_date(raw: str) -> date | None:
    """The calendar date `raw` writes, in any of the usual forms; None if it is none."""
    text = _fold(raw)
    found = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if found is None:
        return None
    year, month, day = (int(part) for part in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def read_yes_no(raw: str) -> bool | None:
    """True for yes/true/1/是/好..., False for no/false/0/否/不..., None for anything else."""
    text = _fold(raw).rstrip(".!。！")
    return YES_NO.get(text)


def is_skip(raw: str) -> bool:
    """The member would rather not answer: skip, 跳过, later..."""
    return _fold(raw).rstrip(".!。！") in SKIP_WORDS
