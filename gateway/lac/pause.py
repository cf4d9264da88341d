"""A 429 or 503 from LAC with ``Retry-After``: no call to LAC before that time, from any replica.

LAC documents neither (lac-api.md section 10), but a proxy or maintenance page in front of it
may send them. The time is kept where every replica reads it (``PauseBoard``, the store's
``LacPause``); while it lasts, calls fail fast as ``LacPaused``, which is a ``CircuitOpen``:
the caller gets 503 with ``Retry-After``, and jobs are rescheduled to after the pause.
"""

from __future__ import annotations

import email.utils
from typing import Protocol

from gateway.codes import Code
from gateway.lac.resilience import CircuitOpen

PAUSE_STATUSES = frozenset({429, 503})
# A Retry-After longer than this is read as this: a wrong header must not stop the fleet for days.
MAX_PAUSE = 3600.0


class PauseBoard(Protocol):
    """Where the replicas share until when LAC asked to be left alone."""

    async def paused_until(self) -> float:
        """Unix time before which LAC must not be called (0 or past: not paused)."""
        ...

    async def pause_until(self, until: float) -> None:
        """Hold every replica's LAC calls until ``until`` (Unix time)."""
        ...


class LacPaused(CircuitOpen):
    """LAC asked to wait (``Retry-After``): the call was not sent (code 900)."""

    def __init__(self, *, operation: str = "", retry_after: float = 0.0) -> None:
        super().__init__(
            Code.SOAP_NO_NETWORK_HOST,
            "LAC asked to wait",
            operation=operation,
            retry_after=retry_after,
        )


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` (delta-seconds or HTTP-date) asks for, capped; None if unusable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    if seconds <= 0:
        return None
    return min(seconds, MAX_PAUSE)
