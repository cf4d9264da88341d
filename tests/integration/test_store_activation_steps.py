"""The activation steps against a real Redis: start (four outcomes), create, state, complete."""

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
from gateway.store import Stores, create_stores
from gateway.store.activations import Start, Started, State
from gateway.store.jobs import Job, JobState

CACHE = CacheSettings(license_ttl=60, negative_ttl=30, order_ttl=45, idempotency_ttl=600)
AID = "act_coldpathcoldpathcoldpath01"
OWNER = "gw-test"
READY = b'{"state":"ready"}'
EVENT = {"action": "activation", "outcome": "issued", "lac_code": "0"}


@pytest.fixture
async def store(redis_client: aioredis.Redis) -> Stores:
    return create_stores(redis_client, "cold", CACHE)


def a_license(expires_at: date | None = None) -> LicenseBody:
    return LicenseBody(
        content="FEATURE f\n{\nVENDOR=ACME\n}\n",
        filename="license_2026_01_01-12_00.lic",
        activated_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        expires_at=expires_at,
    )


async def job_of(store: Stores, aid: str) -> Job | None:
    """The job of ``aid`` as the admin listing reads it back."""
    return next((job for job in await store.jobs.list_jobs() if job.id == aid), None)


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
        state=JobState.LEASED,
    )


async def next_message(pubsub: PubSub) -> dict[str, Any] | None:
    """The first published message (subscription notices skipped), or None within 5 s."""
    async with asyncio.timeout(5):
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                return dict(message)


async def test_the_first_lookup_creates_the_job_and_the_next_joins_it(store: Stores) -> None:
    first = await store.activations.start(a_job(), now=time.time())
    assert first == Start(Started.CREATED)
    job = await job_of(store, AID)
    assert job is not None
    assert (job.owner, job.state) == (OWNER, JobState.LEASED)
    assert await store.jobs.count_jobs() == 1
    second = await store.activations.start(a_job("gw-other"), now=time.time())
    assert second == Start(Started.JOINED)
    assert (await job_of(store, AID)) == job


async def test_a_cached_license_or_rejection_is_returned_and_no_job_created(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license())
    found = await store.activations.start(a_job(), now=time.time())
    assert found.outcome is Started.CACHED
    assert found.license is not None
    assert found.license.fresh
    assert found.license.license == a_license()
    await store.licenses.purge(AID)
    await store.licenses.put_negative(AID, 101, "invalid activation key")
    rejected = await store.activations.start(a_job(), now=time.time())
    assert rejected == Start(Started.REJECTED, rejection=(101, "invalid activation key", ""))
    assert await job_of(store, AID) is None


async def test_a_stale_license_is_returned_as_stale(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license(), ttl=1)
    found = await store.activations.start(a_job(), now=time.time() + 5)
    assert found.license is not None
    assert not found.license.fresh
    assert found.outcome is Started.CACHED


async def test_a_rejection_wins_over_a_stale_license_but_not_a_fresh_one(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license(), ttl=1)
    await store.licenses.put_negative(AID, 101, "invalid activation key")
    stale = await store.activations.start(a_job(), now=time.time() + 5)
    assert stale.outcome is Started.REJECTED
    assert stale.rejection == (101, "invalid activation key", "")
    # The stale copy comes along: the service counts the lookup as a stale hit, as it did.
    assert stale.license is not None
    assert not stale.license.fresh
    fresh = await store.activations.start(a_job(), now=time.time())
    assert fresh.outcome is Started.CACHED
    assert await job_of(store, AID) is None


async def test_an_unreadable_license_entry_is_a_miss_and_the_job_is_created(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    await redis_client.set(store.keys.license(AID), b"not json")
    assert await store.activations.start(a_job(), now=time.time()) == Start(Started.CREATED)
    assert await job_of(store, AID) is not None


async def test_create_after_a_miss_sees_a_license_a_finished_job_left(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license())
    created = await store.activations.create(a_job(), now=time.time())
    assert created.outcome is Started.CREATED
    assert created.license is not None
    assert created.license.license == a_license()
    joined = await store.activations.create(a_job("gw-other"), now=time.time())
    assert joined == Start(Started.JOINED)


async def test_completing_stores_the_license_finishes_the_job_announces_and_audits(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    await store.activations.start(a_job(), now=time.time())
    await store.licenses.put_negative(AID, 1, "please wait", ttl=30)
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(store.keys.outcome(AID))
    try:
        audited = await store.activations.complete(
            AID, OWNER, a_license(), READY, now=time.time(), audit=EVENT, audit_max=100
        )
        message = await next_message(pubsub)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert audited is True
    cached = await store.licenses.get_license(AID)
    assert cached is not None
    assert cached.license == a_license()
    assert (await store.licenses.lookup(AID, now=time.time()))[1] is None
    assert await job_of(store, AID) is None
    assert await store.jobs.count_jobs() == 0
    assert message is not None
    assert message["data"] == READY
    events = await store.audit.read_audit(10)
    assert [fields for _, fields in events] == [EVENT]


async def test_completing_leaves_a_job_another_owner_holds(store: Stores) -> None:
    await store.activations.start(a_job("gw-other"), now=time.time())
    assert await store.activations.complete(AID, OWNER, a_license(), READY, now=time.time())
    assert await store.licenses.get_license(AID) is not None
    job = await job_of(store, AID)
    assert job is not None
    assert job.owner == "gw-other"


async def test_an_expired_license_is_not_cached_on_completion(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license())
    await store.activations.start(a_job(), now=time.time())
    expired = a_license(date(2020, 1, 1))
    assert await store.activations.complete(AID, OWNER, expired, READY, now=time.time())
    assert await store.licenses.get_license(AID) is None
    assert await job_of(store, AID) is None


async def test_an_audit_write_that_fails_does_not_undo_the_completion(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    await redis_client.set(store.keys.audit, "not a stream")  # XADD answers WRONGTYPE
    await store.activations.start(a_job(), now=time.time())
    audited = await store.activations.complete(
        AID, OWNER, a_license(), READY, now=time.time(), audit=EVENT, audit_max=100
    )
    assert audited is False
    assert await store.licenses.get_license(AID) is not None
    assert await job_of(store, AID) is None


async def test_both_steps_work_after_the_server_forgot_its_scripts(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    await redis_client.script_flush()
    found = await store.activations.start(a_job(), now=time.time())
    assert found.outcome is Started.CREATED
    await redis_client.script_flush()
    assert await store.activations.complete(AID, OWNER, a_license(), READY, now=time.time())
    assert await job_of(store, AID) is None


async def test_concurrent_lookups_create_one_job(store: Stores) -> None:
    found = await asyncio.gather(
        *(store.activations.start(a_job(f"gw-{n}"), now=time.time()) for n in range(20))
    )
    outcomes = [f.outcome for f in found]
    assert (outcomes.count(Started.CREATED), outcomes.count(Started.JOINED)) == (1, 19)


async def test_the_state_of_an_activation_is_read_in_one_step(store: Stores) -> None:
    assert await store.activations.read_state(AID, now=time.time()) == State(False, None, None)
    await store.activations.start(a_job(), now=time.time())
    assert await store.activations.read_state(AID, now=time.time()) == State(True, None, None)
    await store.activations.complete(AID, OWNER, a_license(), READY, now=time.time())
    state = await store.activations.read_state(AID, now=time.time())
    assert (state.pending, state.rejection) == (False, None)
    assert state.license is not None
    assert state.license.license == a_license()
    await store.licenses.purge(AID)
    await store.licenses.put_negative(AID, 101, "invalid activation key")
    rejected = State(False, None, (101, "invalid activation key", ""))
    assert await store.activations.read_state(AID, now=time.time()) == rejected
