"""The store's two steps of a cold activation, against a real Redis: lookup-or-create, complete."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from gateway.models import LicenseBody
from gateway.settings import CacheSettings
from gateway.store import JOB_LEASED, Job, Store

CACHE = CacheSettings(license_ttl=60, negative_ttl=30, order_ttl=45, idempotency_ttl=600)
AID = "act_coldpathcoldpathcoldpath01"
OWNER = "gw-test"
READY = b'{"state":"ready"}'
EVENT = {"action": "activation", "outcome": "issued", "lac_code": "0"}


@pytest.fixture
async def store(redis_client: aioredis.Redis) -> Store:
    return Store(redis_client, "cold", CACHE)


def a_license(expires_at: date | None = None) -> LicenseBody:
    return LicenseBody(
        content="FEATURE f\n{\nVENDOR=ACME\n}\n",
        filename="license_2026_01_01-12_00.lic",
        activated_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        expires_at=expires_at,
    )


def a_job(owner: str = OWNER) -> Job:
    now = time.time()
    return Job(
        id=AID,
        activation_key="9EFJK-TVJM0-MCDET-EZKXJ",
        hostid="HOSTNAME=BUILD01",
        created_at=now,
        due_at=now + 30,
        deadline_at=now + 900,
        owner=owner,
        lease_until=now + 30,
        state=JOB_LEASED,
    )


async def next_message(pubsub: PubSub) -> dict[str, Any] | None:
    """The first published message (subscription notices skipped), or None within 5 s."""
    async with asyncio.timeout(5):
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                return dict(message)


async def test_the_first_lookup_creates_the_job_and_the_next_joins_it(store: Store) -> None:
    first = await store.lookup_or_create_job(a_job(), now=time.time())
    assert (first.license, first.negative, first.created) == (None, None, True)
    job = await store.get_job(AID)
    assert job is not None
    assert (job.owner, job.state) == (OWNER, JOB_LEASED)
    assert await store.count_jobs() == 1
    second = await store.lookup_or_create_job(a_job("gw-other"), now=time.time())
    assert second.created is False
    assert (await store.get_job(AID)) == job


async def test_a_cached_license_or_rejection_is_returned_and_no_job_created(store: Store) -> None:
    await store.put_license(AID, a_license())
    found = await store.lookup_or_create_job(a_job(), now=time.time())
    assert found.created is None
    assert found.license is not None
    assert found.license.fresh
    assert found.license.license == a_license()
    await store.drop_license(AID)
    await store.put_negative(AID, 101, "invalid activation key")
    rejected = await store.lookup_or_create_job(a_job(), now=time.time())
    assert (rejected.license, rejected.negative, rejected.created) == (
        None,
        (101, "invalid activation key"),
        None,
    )
    assert await store.get_job(AID) is None


async def test_a_stale_license_is_returned_as_stale(store: Store) -> None:
    await store.put_license(AID, a_license(), ttl=1)
    found = await store.lookup_or_create_job(a_job(), now=time.time() + 5)
    assert found.license is not None
    assert not found.license.fresh
    assert found.created is None


async def test_completing_stores_the_license_finishes_the_job_announces_and_audits(
    store: Store, redis_client: aioredis.Redis
) -> None:
    await store.lookup_or_create_job(a_job(), now=time.time())
    await store.put_negative(AID, 1, "please wait", ttl=30)
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(store.outcome_channel(AID))
    try:
        audited = await store.complete_job(
            AID, OWNER, a_license(), READY, now=time.time(), audit=EVENT, audit_max=100
        )
        message = await next_message(pubsub)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert audited is True
    cached = await store.get_license(AID)
    assert cached is not None
    assert cached.license == a_license()
    assert await store.get_negative(AID) is None
    assert await store.get_job(AID) is None
    assert await store.count_jobs() == 0
    assert message is not None
    assert message["data"] == READY
    events = await store.read_audit(10)
    assert [fields for _, fields in events] == [EVENT]


async def test_completing_leaves_a_job_another_owner_holds(store: Store) -> None:
    await store.lookup_or_create_job(a_job("gw-other"), now=time.time())
    assert await store.complete_job(AID, OWNER, a_license(), READY, now=time.time())
    assert await store.get_license(AID) is not None
    job = await store.get_job(AID)
    assert job is not None
    assert job.owner == "gw-other"


async def test_an_expired_license_is_not_cached_on_completion(store: Store) -> None:
    await store.put_license(AID, a_license())
    await store.lookup_or_create_job(a_job(), now=time.time())
    expired = a_license(date(2020, 1, 1))
    assert await store.complete_job(AID, OWNER, expired, READY, now=time.time())
    assert await store.get_license(AID) is None
    assert await store.get_job(AID) is None


async def test_an_audit_write_that_fails_does_not_undo_the_completion(
    store: Store, redis_client: aioredis.Redis
) -> None:
    await redis_client.set(store.keys.audit, "not a stream")  # XADD answers WRONGTYPE
    await store.lookup_or_create_job(a_job(), now=time.time())
    audited = await store.complete_job(
        AID, OWNER, a_license(), READY, now=time.time(), audit=EVENT, audit_max=100
    )
    assert audited is False
    assert await store.get_license(AID) is not None
    assert await store.get_job(AID) is None


async def test_both_steps_work_after_the_server_forgot_its_scripts(
    store: Store, redis_client: aioredis.Redis
) -> None:
    await redis_client.script_flush()
    found = await store.lookup_or_create_job(a_job(), now=time.time())
    assert found.created is True
    await redis_client.script_flush()
    assert await store.complete_job(AID, OWNER, a_license(), READY, now=time.time())
    assert await store.get_job(AID) is None


async def test_concurrent_lookups_create_one_job(store: Store) -> None:
    found = await asyncio.gather(
        *(store.lookup_or_create_job(a_job(f"gw-{n}"), now=time.time()) for n in range(20))
    )
    assert [f.created for f in found].count(True) == 1
    assert [f.created for f in found].count(False) == 19


async def test_the_state_of_an_activation_is_read_in_one_step(store: Store) -> None:
    assert await store.read_state(AID, now=time.time()) == (False, None, None)
    await store.lookup_or_create_job(a_job(), now=time.time())
    assert await store.read_state(AID, now=time.time()) == (True, None, None)
    await store.complete_job(AID, OWNER, a_license(), READY, now=time.time())
    pending, cached, negative = await store.read_state(AID, now=time.time())
    assert (pending, negative) == (False, None)
    assert cached is not None
    assert cached.license == a_license()
    await store.drop_license(AID)
    await store.put_negative(AID, 101, "invalid activation key")
    assert await store.read_state(AID, now=time.time()) == (
        False,
        None,
        (101, "invalid activation key"),
    )
