"""Near caches of two replicas on one real Redis: reads stay local, changes reach both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from gateway.models import LicenseBody
from gateway.nearcache import NearCache, listen_for_drops
from gateway.settings import CacheSettings
from gateway.store import Stores, create_stores
from gateway.store.jobs import Job, JobState
from gateway.store.licenses import LicenseRecord

AID = "act_aarjjopecsae4rvcmoqjvluih7"
WAIT = 5.0


def a_license(content: str) -> LicenseBody:
    return LicenseBody(
        content=content,
        filename="license_2026_01_01-12_00.lic",
        activated_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        expires_at=None,
    )


async def until(check: Callable[[], bool], what: str) -> None:
    """Wait (briefly) until ``check()`` is true; pub/sub delivery takes a moment."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
async def replicas(
    redis_client: aioredis.Redis, redis_url: str
) -> AsyncIterator[list[tuple[Stores, NearCache[LicenseRecord]]]]:
    """Two stores on one Redis prefix, each with its near cache and drop listener running."""
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
    pairs: list[tuple[Stores, NearCache[LicenseRecord]]] = []
    tasks = []
    for client in clients:
        near: NearCache[LicenseRecord] = NearCache(60.0, 100)
        store = create_stores(client, "nc", CacheSettings(), near=near)
        tasks.append(
            asyncio.create_task(listen_for_drops(client, store.keys.licenses_changed, near))
        )
        pairs.append((store, near))
    await until(lambda: all(near.listening for _, near in pairs), "the listeners have subscribed")
    try:
        yield pairs
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients:
            await client.aclose()


async def test_a_read_is_served_locally_until_the_entry_changes(
    replicas: list[tuple[Stores, NearCache[LicenseRecord]]], redis_client: aioredis.Redis
) -> None:
    (first, near), _ = replicas
    await first.licenses.put_license(AID, a_license("FEATURE one\n"))
    assert await first.licenses.get_license(AID) is not None
    assert len(near) == 1
    # Redis itself loses the entry behind the store's back: the local copy still answers ...
    await redis_client.delete(first.keys.license(AID))
    kept = await first.licenses.get_license(AID)
    assert kept is not None
    assert kept.license.content == "FEATURE one\n"
    assert kept.fresh
    # ... until a change is announced, as every store write does.
    await redis_client.publish(first.keys.licenses_changed, AID)
    await until(lambda: len(near) == 0, "the announced entry is dropped")
    assert await first.licenses.get_license(AID) is None


async def test_a_purge_on_one_replica_reaches_the_other(
    replicas: list[tuple[Stores, NearCache[LicenseRecord]]],
) -> None:
    (first, _), (second, second_near) = replicas
    await first.licenses.put_license(AID, a_license("FEATURE one\n"))
    assert await second.licenses.get_license(AID) is not None
    assert len(second_near) == 1
    assert await first.licenses.purge(AID) == 1
    await until(lambda: len(second_near) == 0, "the purge reached the second replica")
    assert await second.licenses.get_license(AID) is None


async def test_a_new_license_on_one_replica_replaces_the_others_copy(
    replicas: list[tuple[Stores, NearCache[LicenseRecord]]],
) -> None:
    (first, _), (second, second_near) = replicas
    await first.licenses.put_license(AID, a_license("FEATURE one\n"))
    assert await second.licenses.get_license(AID) is not None
    await first.licenses.put_license(AID, a_license("FEATURE two\n"))
    await until(lambda: len(second_near) == 0, "the replacement reached the second replica")
    again = await second.licenses.get_license(AID)
    assert again is not None
    assert again.license.content == "FEATURE two\n"


async def test_freshness_is_judged_when_read_not_when_kept(
    replicas: list[tuple[Stores, NearCache[LicenseRecord]]],
) -> None:
    (first, _), _ = replicas
    await first.licenses.put_license(AID, a_license("FEATURE one\n"), ttl=30, now=1_000.0)
    early = await first.licenses.get_license(AID, now=1_010.0)
    late = await first.licenses.get_license(AID, now=1_031.0)
    assert early is not None
    assert late is not None
    assert (early.fresh, late.fresh) == (True, False)


async def test_a_finished_generation_on_one_replica_replaces_the_others_copy(
    replicas: list[tuple[Stores, NearCache[LicenseRecord]]],
) -> None:
    (first, _), (second, second_near) = replicas
    await first.licenses.put_license(AID, a_license("FEATURE one\n"))
    assert await second.licenses.get_license(AID) is not None
    now = 1_000_000.0
    job = Job(
        id=AID,
        activation_key="9EFJK-TVJM0-MCDET-EZKXJ",
        hostid="HOSTNAME=BUILD01",
        created_at=now,
        due_at=now,
        deadline_at=now + 900,
        interval=2.0,
        owner="first",
        lease_until=now + 30,
        state=JobState.LEASED,
    )
    await first.jobs.create_job(job)
    await first.activations.complete(AID, "first", a_license("FEATURE two\n"), b"{}", now=now)
    await until(lambda: len(second_near) == 0, "the finished generation reached the other")
    again = await second.licenses.get_license(AID)
    assert again is not None
    assert again.license.content == "FEATURE two\n"


async def test_a_lost_subscription_empties_the_cache_until_it_is_back(
    replicas: list[tuple[Stores, NearCache[LicenseRecord]]], redis_client: aioredis.Redis
) -> None:
    (first, near), _ = replicas
    await first.licenses.put_license(AID, a_license("FEATURE one\n"))
    assert await first.licenses.get_license(AID) is not None
    assert len(near) == 1
    # Drops published while nobody listens are lost: the cache must not trust what it holds.
    await redis_client.client_kill_filter(_type="pubsub")
    await until(lambda: not near.listening, "the listener has noticed")
    assert len(near) == 0
    assert (
        await first.licenses.get_license(AID) is not None
    )  # read from Redis (it waits a second to retry)
    assert not near.listening
    assert len(near) == 0  # and nothing kept while unsubscribed
    await until(lambda: near.listening, "the listener has subscribed again")
    assert await first.licenses.get_license(AID) is not None
    assert len(near) == 1
