"""Numbers from query strings and headers, parsed strictly: ASCII digits, bounded length."""

from __future__ import annotations

import re

MAX_DIGITS = 9
"""Digits before the point at most: 31 years of seconds, far beyond any limit or wait."""

# Written out as [0-9], never \d or str.isdigit(): those also accept U+00B2 (superscript two)
# and U+0661 (Arabic-Indic one), which int() then refuses (a 500) or reads as a number the
# caller never wrote.
_COUNT = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")
_SECONDS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}(?:\.[0-9]{{1,{MAX_DIGITS}}})?")


def parse_count(raw: str) -> int | None:
    """``raw`` as a non-negative integer if it is only ASCII digits (at most MAX_DIGITS)."""
    return int(raw) if _COUNT.fullmatch(raw) else None


def parse_seconds(raw: str) -> float | None:
    """``raw`` as non-negative seconds: ASCII digits with an optional ``.fraction``."""
    return float(raw) if _SECONDS.fullmatch(raw) else None
