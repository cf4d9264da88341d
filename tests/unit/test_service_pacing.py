"""When a product is told to ask again: the revalidation age or the end of freshness, spread."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.models import LicenseBody
from gateway.service.shared import PACE_SPREAD, RECHECK_SOON, next_check_after, spread
from gateway.settings import CacheSettings
from gateway.store.licenses import CachedLicense

AID = "act_aarjjopecsae4rvcmoqjvluih7"
T0 = 1_800_000_000.0
BODY = LicenseBody(content="FEATURE f\n", filename="license.lic")


def cached(stored_at: float, fresh_for: float, now: float) -> CachedLicense:
    fresh_until = stored_at + fresh_for
    return CachedLicense(BODY, stored_at, now < fresh_until, fresh_until)


def epoch(when: datetime) -> float:
    assert when.tzinfo is UTC
    return when.timestamp()


def test_the_spread_is_fixed_per_activation_and_bounded() -> None:
    assert spread(AID) == spread(AID)
    factors = {spread(f"act_{n}") for n in range(50)}
    assert len(factors) == 50
    assert all(1.0 <= f <= 1.0 + PACE_SPREAD for f in factors)


def test_a_fresh_license_is_checked_after_the_revalidation_age() -> None:
    cache = CacheSettings(revalidate_after=3600, license_ttl=7 * 86400)
    due = epoch(next_check_after(AID, cached(T0, 7 * 86400, T0 + 10), cache, T0 + 10))
    assert T0 + 3600 <= due <= T0 + 3600 * (1 + PACE_SPREAD) + 1


def test_a_license_fresh_for_less_than_the_age_is_checked_when_its_freshness_ends() -> None:
    cache = CacheSettings(revalidate_after=86400, license_ttl=600)
    due = epoch(next_check_after(AID, cached(T0, 600, T0), cache, T0))
    assert T0 + 600 <= due <= T0 + 600 * (1 + PACE_SPREAD) + 1


def test_a_license_already_due_is_checked_again_soon() -> None:
    cache = CacheSettings(revalidate_after=3600)
    now = T0 + 2 * 3600
    due = epoch(next_check_after(AID, cached(T0, 7 * 86400, now), cache, now))
    assert now + RECHECK_SOON <= due <= now + RECHECK_SOON * (1 + PACE_SPREAD) + 1


def test_a_stale_license_is_checked_again_soon() -> None:
    cache = CacheSettings(revalidate_after=86400, license_ttl=600)
    now = T0 + 900
    due = epoch(next_check_after(AID, cached(T0, 600, now), cache, now))
    assert now + RECHECK_SOON <= due <= now + RECHECK_SOON * (1 + PACE_SPREAD) + 1
