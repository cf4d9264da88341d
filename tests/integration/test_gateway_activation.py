"""Activation end to end: gateway over HTTP, the sandbox over SOAP or REST, a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.gwharness import Running

SINGLE = "SNGLE-HOST1-DEMO0-00001"
BULK = "BENCH-BULKX-DEMO0-00003"
DELAYED = "DELAY-2SECS-DEMO0-00007"


async def test_activation_ready_inline_then_served_from_cache(running: Running) -> None:
    first = await running.activate(SINGLE, ["HOSTNAME=build01"])
    assert first.status == 200, await first.text()
    body = await first.json()
    assert body["state"] == "ready"
    assert body["source"] == "lac"
    assert "FEATURE" in body["license"]["content"]
    assert body["license"]["filename"].startswith("license_")
    calls_after_first = await running.lac_calls()

    # Same machine, other spellings: the same activation, answered from Redis.
    again = await running.activate(SINGLE.lower(), [{"type": "hostname", "value": "BUILD01"}])
    assert again.status == 200
    again_body = await again.json()
    assert again_body["source"] == "cache"
    assert again_body["id"] == body["id"]
    assert again_body["license"]["content"] == body["license"]["content"]
    assert await running.lac_calls() == calls_after_first
    assert await running.creates() == 1


async def test_pending_activation_answers_202_then_long_poll_returns_license(
    running: Running,
) -> None:
    await running.put_order(BULK, generation_delay=0.6)
    pending = await running.activate(BULK, ["HOSTNAME=slow01"], Prefer="respond-async")
    assert pending.status == 202, await pending.text()
    body = await pending.json()
    assert body["state"] == "pending"
    assert pending.headers["Location"] == f"/v1/activations/{body['id']}"
    assert int(pending.headers["Retry-After"]) >= 1

    url = f"{running.gateway}{pending.headers['Location']}?wait=10"
    async with running.http.get(url, headers=running.auth()) as resp:
        assert resp.status == 200
        done = await resp.json()
    assert done["state"] == "ready"
    assert done["id"] == body["id"]
    assert "FEATURE" in done["license"]["content"]
    assert await running.creates() == 1


async def test_concurrent_activations_call_lac_once(running: Running) -> None:
    await running.put_order(BULK, generation_delay=0.3)
    responses = await asyncio.gather(
        *(running.activate(BULK, ["ETHERNET=00:11:22:33:44:55"]) for _ in range(200))
    )
    statuses = {r.status for r in responses}
    assert statuses == {200}, statuses
    contents = {(await r.json())["license"]["content"] for r in responses}
    assert len(contents) == 1
    assert await running.creates() == 1


async def test_deactivate_then_activate_again_is_a_new_lac_activation(running: Running) -> None:
    await running.put_order("DEACT-ONCE0-DEMO0-00011", deactivations_allowed=5)
    key, host = "DEACT-ONCE0-DEMO0-00011", "HOSTNAME=move01"
    assert (await running.activate(key, [host])).status == 200
    url = f"{running.gateway}/v1/licenses/{key}?hostid={host}"
    async with running.http.delete(url, headers=running.auth()) as resp:
        assert resp.status == 204, await resp.text()
    async with running.http.get(url, headers=running.auth()) as resp:
        assert resp.status == 404
    again = await running.activate(key, [host])
    assert again.status == 200
    assert (await again.json())["source"] == "lac"
    assert await running.creates() == 2


async def sandbox_licenses(running: Running, key: str) -> list[dict[str, Any]]:
    """The licenses the sandbox holds for ``key``, with the HostID strings it received."""
    async with running.http.get(f"{running.sandbox}/_sandbox/orders/{key}") as resp:
        order: dict[str, Any] = await resp.json()
    licenses: list[dict[str, Any]] = order["licenses"]
    return licenses


async def test_same_hostids_in_another_order_reach_lac_once_in_canonical_order(
    running: Running,
) -> None:
    # LAC picks "the first appropriate value" of a HostID list: the gateway sends one order
    # per machine, whatever order its callers use, so LAC never sees the machine as a new pair.
    ethernet, hostname = "ETHERNET=AABBCCDDEEFF", "HOSTNAME=ORDER-TEST"
    first = await running.activate(BULK, [hostname, ethernet], Prefer="wait=5")
    second = await running.activate(BULK, [f"{ethernet},{hostname}"], Prefer="wait=5")

    assert (first.status, second.status) == (200, 200)
    assert (await first.json())["id"] == (await second.json())["id"]
    assert await running.creates() == 1
    licenses = await sandbox_licenses(running, BULK)
    mine = [lic for lic in licenses if hostname.lower() in lic["hostid"].lower()]
    assert [lic["received"] for lic in mine] == [[f"{ethernet},{hostname}"]]
