"""What the gateway reads out of an LM-X license file: its dates and its suggested file name."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from gateway.lac.base import IssuedLicense

DEFAULT_FILENAME = "license.lic"

_GENERATION_TIME = re.compile(
    r"^#[^\n]*Generation Time:\s*(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2}):(\d{2})", re.MULTILINE
)
# Anchored on whitespace so MAINTENANCE_END= is never read as END= (and vice versa).
_END = re.compile(r"(?:^|\s)END=(\d{4}-\d{2}-\d{2})\b")
_MAINTENANCE_END = re.compile(r"(?:^|\s)MAINTENANCE_END=(\d{4}-\d{2}-\d{2})\b")


def parse_date(value: object) -> date | None:
    """A date from ``YYYY-MM-DD`` (or a longer timestamp starting with it), else None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_timestamp(value: object) -> datetime | None:
    """An aware datetime from ISO-8601 or LAC's ``YYYY-MM-DD HH:MM:SS``; naive means UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().removesuffix(" GMT").removesuffix(" UTC")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def generation_time(content: str) -> datetime | None:
    """The ``# Generation Time: ... GMT`` header of a LAC-generated file, in UTC."""
    match = _GENERATION_TIME.search(content)
    if match is None:
        return None
    day, hour, minute, second = match.groups()
    return parse_timestamp(f"{day} {hour}:{minute}:{second}")


def license_filename(generated: datetime | None) -> str:
    """LAC's file name pattern ``license_YYYY_MM_DD-HH_MM.lic`` (lac-api.md section 9)."""
    if generated is None:
        return DEFAULT_FILENAME
    return generated.astimezone(UTC).strftime("license_%Y_%m_%d-%H_%M.lic")


def _earliest(pattern: re.Pattern[str], content: str) -> date | None:
    dates = [d for d in (parse_date(m) for m in pattern.findall(content)) if d is not None]
    return min(dates, default=None)


def parse_license(content: str) -> IssuedLicense:
    """Describe a license file; the earliest END= / MAINTENANCE_END= of its features wins."""
    generated = generation_time(content)
    return IssuedLicense(
        content=content,
        filename=license_filename(generated),
        activated_at=generated,
        expires_at=_earliest(_END, content),
        maintenance_end=_earliest(_MAINTENANCE_END, content),
    )
