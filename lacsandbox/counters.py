"""Per (transport, operation) call counters, and the W3C ``traceparent`` of the latest calls."""

from __future__ import annotations

from collections import Counter, deque

KEPT_TRACEPARENTS = 256  # enough for a test's calls; older ones are dropped


class CallCounters:
    """Call counts keyed ``("soap", "CreateLicenseRequest")``, ``("rest", "PUT /licenses")``..."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._traceparents: deque[dict[str, str]] = deque(maxlen=KEPT_TRACEPARENTS)

    def hit(self, transport: str, operation: str, traceparent: str | None = None) -> None:
        """Count one call, and keep the ``traceparent`` header it came with, if any."""
        self._counts[transport, operation] += 1
        if traceparent is not None:
            call = {"transport": transport, "operation": operation, "traceparent": traceparent}
            self._traceparents.append(call)

    def traceparents(self) -> list[dict[str, str]]:
        """The latest calls that carried a ``traceparent``, oldest first."""
        return list(self._traceparents)

    def get(self, transport: str, operation: str) -> int:
        """How many calls of ``operation`` arrived over ``transport``."""
        return self._counts[transport, operation]

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Every non-zero count, as ``{transport: {operation: count}}``."""
        out: dict[str, dict[str, int]] = {}
        for (transport, operation), count in sorted(self._counts.items()):
            out.setdefault(transport, {})[operation] = count
        return out

    def reset(self) -> None:
        """Set every count back to zero and forget the traceparents."""
        self._counts.clear()
        self._traceparents.clear()
