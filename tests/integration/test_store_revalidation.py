"""The revalidation store against a real Redis: one holder per lock, writes only over the entry
that was checked."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from gateway.models import LicenseBody
from gateway.settings import CacheSettings
from gateway.store import Stores, create_stores
from gateway.store.licenses import JOB_ORIGIN

AID = "act_aarjjopecsae4rvcmoqjvluih7"


@pytest.fixture
async def store(redis_client: aioredis.Redis) -> Stores:
    return create_stores(redis_client, "t", CacheSettings(license_ttl=60, stale_window=60))


def a_license(content: str = "FEATURE f\n{\nVENDOR=ACME\n}\n") -> LicenseBody:
    return LicenseBody(
        content=content,
        filename="license_2026_01_01-12_00.lic",
        activated_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
    )


async def test_one_claim_wins_until_the_lock_expires(store: Stores) -> None:
    assert await store.revalidations.claim(AID)
    assert not await store.revalidations.claim(AID)


async def test_a_confirmed_license_is_cached_afresh(store: Stores) -> None:
    then = time.time() - 30
    await store.licenses.put_license(AID, a_license(), now=then)
    cached = await store.licenses.get_license(AID)
    assert cached is not None

    assert await store.revalidations.confirm(AID, cached.stored_at, a_license(), now=time.time())

    again = await store.licenses.get_license(AID)
    assert again is not None
    assert again.stored_at > then


async def test_a_confirmed_license_keeps_its_origin(store: Stores) -> None:
    entry = store.licenses.entry(a_license(), None, time.time() - 30, origin=JOB_ORIGIN)
    assert entry is not None
    await store.licenses.redis.set(store.keys.license(AID), entry[0], px=entry[1])
    cached = await store.licenses.get_license(AID)
    assert cached is not None
    assert cached.origin == JOB_ORIGIN

    assert await store.revalidations.confirm(
        AID, cached.stored_at, a_license(), now=time.time(), origin=cached.origin
    )

    again = await store.licenses.get_license(AID)
    assert again is not None
    assert again.origin == JOB_ORIGIN


async def test_an_entry_changed_meanwhile_is_left_as_it_is(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license(), now=time.time() - 30)
    checked = await store.licenses.get_license(AID)
    assert checked is not None
    # Deactivated and activated again while LAC was being asked: a new entry.
    await store.licenses.put_license(AID, a_license("FEATURE g\n{\nVENDOR=ACME\n}\n"))

    assert not await store.revalidations.drop(AID, checked.stored_at)
    assert not await store.revalidations.confirm(AID, checked.stored_at, a_license(), now=0.0)

    kept = await store.licenses.get_license(AID)
    assert kept is not None
    assert kept.license.content.startswith("FEATURE g")


async def test_a_purged_license_is_not_brought_back(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license())
    checked = await store.licenses.get_license(AID)
    assert checked is not None
    await store.licenses.purge(AID)

    assert not await store.revalidations.confirm(
        AID, checked.stored_at, a_license(), now=time.time()
    )
    assert await store.licenses.get_license(AID) is None


async def test_a_dropped_license_is_gone(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license())
    checked = await store.licenses.get_license(AID)
    assert checked is not None

    assert await store.revalidations.drop(AID, checked.stored_at)
    assert await store.licenses.get_license(AID) is None
