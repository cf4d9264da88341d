"""The sandbox's notion of time: wall time plus an offset tests can move forward."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    """UTC time source with an adjustable offset, so tests advance time instead of sleeping."""

    def __init__(self, source: Callable[[], float] = time.time, offset: float = 0.0) -> None:
        self._source = source
        self.offset = offset

    def timestamp(self) -> float:
        """Seconds since the epoch, offset included."""
        return self._source() + self.offset

    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def advance(self, seconds: float) -> None:
        """Move time forward (or back, with a negative value)."""
        self.offset += seconds
