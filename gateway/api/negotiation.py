"""Choosing a representation from ``Accept`` (RFC 9110 12.5.1), and naming a downloaded file.

The gateway offers few media types, so a small reader suffices: media ranges with their
``q`` weights, the most specific range deciding each type (``text/plain`` over ``text/*`` over
``*/*``), ties going to the order the route offers them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath
from urllib.parse import quote

FALLBACK_FILENAME = "license.lic"
_UNSAFE_IN_QUOTES = frozenset('"\\')


def _weight(params: Sequence[str]) -> float:
    """The ``q`` of a media range's parameters; 1 when absent, 0 when unreadable."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    """(type, subtype, q) of every media range in an ``Accept`` value."""
    ranges = []
    for item in accept.split(","):
        media, *params = item.split(";")
        kind, _, sub = media.strip().lower().partition("/")
        if kind and sub:
            ranges.append((kind, sub, _weight(params)))
    return ranges


def _quality(offer: str, ranges: list[tuple[str, str, float]]) -> float:
    """The weight ``ranges`` give ``offer``: that of its most specific matching range."""
    kind, _, sub = offer.partition("/")
    best, specificity = 0.0, -1
    for r_kind, r_sub, q in ranges:
        if r_kind == kind and r_sub == sub:
            rank = 2
        elif r_kind == kind and r_sub == "*":
            rank = 1
        elif r_kind == "*" and r_sub == "*":
            rank = 0
        else:
            continue
        if rank > specificity:
            best, specificity = q, rank
    return best


def choose(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer ``accept`` prefers (the first offer without one); None when none is acceptable."""
    if accept is None or not accept.strip():
        return offers[0]
    ranges = _ranges(accept)
    if not ranges:
        return offers[0]  # nothing readable: as if no Accept was sent
    scored = [(_quality(offer, ranges), -i, offer) for i, offer in enumerate(offers)]
    q, _, offer = max(scored)
    return offer if q > 0 else None


def attachment(filename: str) -> str:
    """``Content-Disposition`` for a download named ``filename``, whatever it contains.

    Only the last path segment is kept; the quoted ``filename`` is printable ASCII without
    quotes or backslashes, and when that changed the name, ``filename*`` (RFC 8187) carries it
    whole, percent-encoded.
    """
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable())
    if name in {"", ".", ".."}:
        name = FALLBACK_FILENAME
    plain = "".join(ch if ch.isascii() and ch not in _UNSAFE_IN_QUOTES else "_" for ch in name)
    header = f'attachment; filename="{plain}"'
    if plain != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header
