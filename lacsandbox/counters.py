"""Per (transport, operation) call counters: how many of each call the sandbox received."""

from __future__ import annotations

from collections import Counter


class CallCounters:
    """Call counts keyed ``("soap", "CreateLicenseRequest")``, ``("rest", "PUT /licenses")``..."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()

    def hit(self, transport: str, operation: str) -> None:
        """Count one call."""
        self._counts[transport, operation] += 1

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
        """Set every count back to zero."""
        self._counts.clear()
