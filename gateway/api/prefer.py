"""The ``Prefer`` request header (RFC 7240): ``wait=N`` and ``respond-async``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.api.numbers import parse_seconds


@dataclass(frozen=True, slots=True)
class WaitPreference:
    """How long to hold a request, and what to announce in ``Preference-Applied``."""

    wait: float
    applied: str | None


def parse_prefer(values: Iterable[str]) -> dict[str, str]:
    """Preference tokens (lower-cased) to their values; parameters after ``;`` are ignored."""
    prefs: dict[str, str] = {}
    for header in values:
        for item in header.split(","):
            token, _, value = item.split(";", 1)[0].partition("=")
            name = token.strip().lower()
            # RFC 7240: the first occurrence of a preference wins.
            if name and name not in prefs:
                prefs[name] = value.strip().strip('"')
    return prefs


def wait_preference(values: Iterable[str], *, default: float, maximum: float) -> WaitPreference:
    """Seconds to wait for a result: ``respond-async`` means none, ``wait`` is clamped."""
    prefs = parse_prefer(values)
    if "respond-async" in prefs:
        return WaitPreference(0.0, "respond-async")
    wait = _seconds(prefs.get("wait"))
    if wait is None:
        return WaitPreference(min(default, maximum), None)
    clamped = min(wait, maximum)
    return WaitPreference(clamped, f"wait={_fmt(clamped)}")


def _seconds(raw: str | None) -> float | None:
    # Preferences are advisory: one that cannot be honoured is ignored, not an error.
    return None if raw is None else parse_seconds(raw)


def _fmt(seconds: float) -> str:
    seconds = float(seconds)  # an int maximum from a caller would lack is_integer on 3.11
    return str(int(seconds)) if seconds.is_integer() else f"{seconds:g}"
