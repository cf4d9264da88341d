"""The outbox group's consumers: one per replica that ever read, dropped once gone and idle."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

from gateway.store import Stores, create_stores
from gateway.store.keys import OUTBOX_GROUP
from tests.integration.test_store_activation_steps import CACHE

EVENT = ["type", "activation.issued", "at", "1", "data", "{}"]


@pytest.fixture
async def store(redis_client: aioredis.Redis) -> Stores:
    """The stores on a flushed Redis, the outbox's group made."""
    stores = create_stores(redis_client, "consumers", CACHE)
    await stores.webhooks.ensure_group()
    return stores


async def reads(store: Stores, consumer: str, *, keep: bool = False) -> None:
    """``consumer`` reads one new entry (so Redis knows it), acknowledged unless ``keep``."""
    await store.webhooks.append(EVENT)
    [(entry, _fields)] = await store.webhooks.read_new(consumer, 10)
    if not keep:
        await store.webhooks.done(entry)


async def consumers(store: Stores) -> dict[str, int]:
    """The group's consumers and the entries each holds."""
    rows: Any = await store.webhooks.redis.xinfo_consumers(store.keys.outbox, OUTBOX_GROUP)
    return {row["name"].decode(): row["pending"] for row in rows}


async def test_a_gone_replica_is_dropped_once_idle_and_one_holding_entries_never(
    store: Stores,
) -> None:
    await reads(store, "gone")
    await reads(store, "crashed", keep=True)  # read, never acknowledged
    await asyncio.sleep(0.15)
    await reads(store, "alive")  # a live replica's round, just now
    assert await store.webhooks.forget_consumers(idle=0.1) == 1
    assert await consumers(store) == {"crashed": 1, "alive": 0}


async def test_a_consumer_dropped_while_alive_reads_on_as_before(store: Stores) -> None:
    await reads(store, "alive")
    await asyncio.sleep(0.05)  # idle a little: Redis counts idle time in whole milliseconds
    assert await store.webhooks.forget_consumers(idle=0.02) == 1
    assert await consumers(store) == {}
    await reads(store, "alive", keep=True)
    assert await consumers(store) == {"alive": 1}


async def test_a_leaving_replica_is_dropped_at_once_unless_it_holds_entries(
    store: Stores,
) -> None:
    webhooks = store.webhooks
    await reads(store, "leaving")
    await reads(store, "other")
    assert await webhooks.forget_consumers(idle=3600, leaving="leaving") == 1
    assert await consumers(store) == {"other": 0}
    await reads(store, "other", keep=True)
    assert await webhooks.forget_consumers(idle=3600, leaving="other") == 0
    assert await consumers(store) == {"other": 1}


async def test_without_the_outbox_nothing_is_dropped(redis_client: aioredis.Redis) -> None:
    stores = create_stores(redis_client, "no-outbox", CACHE)
    assert await stores.webhooks.forget_consumers(idle=0.0, leaving="anyone") == 0
    assert not await redis_client.exists(stores.keys.outbox)
