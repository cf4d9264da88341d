"""Refresh-ahead revalidation: old cached licenses are served at once and checked at LAC by one
replica, with a read (never a create); a license LAC no longer has is dropped everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
import pytest

from gateway.api.keys import METRICS, NEAR_CACHE, REDIS, SERVICES
from tests.gwharness import Running, gateway_settings, start_gateway, start_sandbox, until

KEY = "BULK5-SEATS-DEMO0-00002"
HOST = "HOSTNAME=reval01"
LICENSE_PATH = f"/v1/licenses/{KEY}?hostid={HOST}"


@dataclass
class Replicas:
    """Two gateways sharing one Redis and one sandbox."""

    one: Running
    two: Running

    async def drain(self) -> None:
        """Wait until neither replica has a revalidation under way."""
        for gw in (self.one, self.two):
            await gw.app[SERVICES].revalidator.drain()


def revalidations(*gateways: Running) -> dict[str, float]:
    """``lacgw_license_revalidations_total`` by outcome, summed over ``gateways``."""
    counted: dict[str, float] = {}
    for gw in gateways:
        for family in gw.app[METRICS].registry.collect():
            for sample in family.samples:
                if sample.name == "lacgw_license_revalidations_total":
                    outcome = sample.labels["outcome"]
                    counted[outcome] = counted.get(outcome, 0.0) + sample.value
    return counted


@pytest.fixture(params=["soap", "rest"])
async def replicas(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Replicas]:
    """Two replicas whose cached licenses are due for revalidation as soon as they are read.

    Their near caches keep a license for ten minutes: only the drop announced over pub/sub
    can make a replica forget one within a test.
    """
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis_url, sandbox_url, request.param, cache={"revalidate_after": 0.001, "near_ttl": 600}
    )
    started = [await start_gateway(settings) for _ in range(2)]
    async with aiohttp.ClientSession() as http:
        try:
            one, two = (Running(url, sandbox_url, http, settings, app) for _, url, app in started)
            for gw in (one, two):
                await until(partial(_listening, gw), "near cache subscribed")
            yield Replicas(one, two)
        finally:
            for runner, _, _ in started:
                await runner.cleanup()
            await sandbox_runner.cleanup()


async def _listening(gw: Running) -> bool:
    near = gw.app[NEAR_CACHE]
    return near is not None and near.listening


async def activated(gw: Running) -> dict[str, Any]:
    """Activate the test pair; the ready body."""
    reply = await gw.activate(KEY, [HOST])
    assert reply.status == 200, await reply.text()
    body: dict[str, Any] = await reply.json()
    return body


async def unlock(*gateways: Running) -> None:
    """Free every revalidation lock (each is held a minute, so that a failed check waits)."""
    for gw in gateways:
        gw.app[SERVICES].revalidator.forget_tries()
        locks = [key for key in await gw.redis_keys() if key.endswith(b":revalidation")]
        if locks:
            await gw.app[REDIS].delete(*locks)


async def revoke(gw: Running) -> None:
    """The vendor revokes the pair's license at LAC (sandbox control API)."""
    url = f"{gw.sandbox}/_sandbox/licenses/{KEY}?hostid={HOST}"
    async with gw.http.delete(url) as resp:
        assert resp.status == 200, await resp.text()


async def test_an_old_cached_license_is_served_and_revalidated_once_with_a_read(
    replicas: Replicas,
) -> None:
    one, two = replicas.one, replicas.two
    issued = await activated(one)
    calls, creates = await one.lac_calls(), await one.creates()

    replies = await asyncio.gather(
        *(gw.call("GET", LICENSE_PATH) for gw in (one, two) for _ in range(5))
    )
    await replicas.drain()

    for reply in replies:
        assert reply.status == 200
        assert reply.json()["source"] == "cache"
        assert reply.json()["license"] == issued["license"]
    # One check at LAC for ten reads on two replicas, and never a create.
    assert await one.creates() == creates
    assert await one.lac_calls() == calls + 1
    assert revalidations(one, two) == {"confirmed": 1.0}


async def test_a_license_lac_no_longer_has_is_dropped_on_every_replica(
    replicas: Replicas,
) -> None:
    one, two = replicas.one, replicas.two
    await activated(one)
    # Replica two checks the license once, then keeps it in its near cache (reading again
    # while an invalidation still in flight, the activation's or the check's, drops it).
    for _ in range(2):
        assert (await two.call("GET", LICENSE_PATH)).json()["source"] == "cache"
        await replicas.drain()

    async def near_cached() -> bool:
        if len(two.app[NEAR_CACHE] or ()) == 1:
            return True
        assert (await two.call("GET", LICENSE_PATH)).json()["source"] == "cache"
        await replicas.drain()
        return False

    await until(near_cached, "replica two keeps the license in its near cache", tries=200)
    await unlock(one, two)
    await revoke(one)
    creates = await one.creates()

    served = await one.call("GET", LICENSE_PATH)
    assert served.status == 200  # served at once, checked behind
    await replicas.drain()

    assert revalidations(one, two).get("dropped") == 1.0
    assert not [key for key in await one.redis_keys() if key.endswith(b":license")]

    async def forgotten_by_two() -> bool:
        return (await two.call("GET", LICENSE_PATH)).status == 404

    await until(forgotten_by_two, "replica two forgets the revoked license")
    # The next activation goes to LAC as a first one does.
    await activated(two)
    assert await one.creates() == creates + 1


async def test_a_revalidation_that_cannot_reach_lac_keeps_the_license(
    replicas: Replicas,
) -> None:
    one = replicas.one
    issued = await activated(one)
    await one.fault(kind="http_error", status=500)

    served = await one.call("GET", LICENSE_PATH)
    await replicas.drain()

    assert served.json()["license"] == issued["license"]
    assert revalidations(one) == {"failed": 1.0}
    await one.clear_faults()
    calls = await one.lac_calls()
    # Still cached, and not asked about again until its lock expires.
    again = await one.call("GET", LICENSE_PATH)
    await replicas.drain()
    assert again.json()["source"] == "cache"
    assert again.json()["license"] == issued["license"]
    assert await one.lac_calls() == calls
    assert revalidations(one) == {"failed": 1.0}
