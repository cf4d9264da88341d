"""How the store writes numbers and durations to Redis and reads its replies back."""

from __future__ import annotations


def ms(seconds: float) -> int:
    """A duration in whole milliseconds, at least 1 (Redis refuses a zero PX)."""
    return max(1, round(seconds * 1000))


def text(value: bytes | str | None) -> str:
    """A reply as text; "" for a missing one."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def num(value: float) -> str:
    """A float as Redis keeps it (and ``float()`` reads it back exactly)."""
    return repr(float(value))


def instant(value: float) -> str:
    """An epoch time to the millisecond: what a job keeps (four bytes a time fewer than ``num``)."""
    return repr(round(float(value), 3))
