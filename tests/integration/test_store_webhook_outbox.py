"""The outbox entry written with the change it reports: once per job, whatever re-runs it."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from gateway.store import Stores, create_stores
from tests.integration.test_store_activation_steps import CACHE, OWNER, READY, a_job, a_license

ISSUED = ["type", "activation.issued", "at", "1", "data", "{}"]
FAILED = ["type", "activation.failed", "at", "1", "data", "{}"]


@pytest.fixture
async def store(redis_client: aioredis.Redis) -> Stores:
    """The stores on a flushed Redis."""
    return create_stores(redis_client, "outbox", CACHE)


async def outbox(store: Stores) -> list[str]:
    """The event types in the outbox, oldest first."""
    entries: Any = await store.activations.redis.xrange(store.keys.outbox)
    return [fields[b"type"].decode() for _, fields in entries or []]


async def test_completion_writes_its_event_once_even_when_the_script_runs_again(
    store: Stores,
) -> None:
    job = a_job()
    assert await store.jobs.create_job(job)
    lic = a_license()
    for _ in range(2):  # redis-py sends a script again when its answer timed out
        await store.activations.complete(job.id, OWNER, lic, READY, now=1.0, event=ISSUED)
    assert await outbox(store) == ["activation.issued"]
    assert await store.licenses.get_license(job.id, now=1.0) is not None


async def test_a_stale_holder_and_the_owner_finishing_one_job_make_one_event(
    store: Stores,
) -> None:
    job = a_job()
    assert await store.jobs.create_job(job)
    await store.activations.fail(job.id, "someone-else", b"{}", 1000, READY, event=FAILED)
    await store.activations.fail(job.id, OWNER, b"{}", 1000, READY, event=FAILED)
    assert await outbox(store) == ["activation.failed"]


async def test_no_event_arguments_write_nothing(store: Stores) -> None:
    job = a_job()
    assert await store.jobs.create_job(job)
    await store.activations.complete(job.id, OWNER, a_license(), READY, now=1.0)
    assert await store.activations.withdraw(job.id) == 1
    assert not await store.activations.redis.exists(store.keys.outbox)
