"""LAC's 429 / 503 with Retry-After holds every replica's LAC calls until that time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.gwharness import (
    Reply,
    Running,
    problem_of,
    two_replicas,
    until,
)

BULK = "BENCH-BULKX-DEMO0-00003"
CREATE_OP = {"soap": "CreateLicenseRequest", "rest": "PUT /licenses"}
PAUSE = 60


@pytest.fixture(params=["soap", "rest"])
async def replicas(
    request: pytest.FixtureRequest, redis_url: str
) -> AsyncIterator[tuple[Running, Running]]:
    """Two gateways on one Redis (same key prefix) in front of one sandbox."""
    async with two_replicas(redis_url, request.param) as pair:
        yield pair


async def activate(gateway: Running, host: str, wait: int = 1) -> Reply:
    """POST /v1/activations for one host of the bulk order."""
    body = {"activation_key": BULK, "hostids": [f"HOSTNAME={host}"]}
    return await gateway.call(
        "POST", "/v1/activations", json=body, headers={"Prefer": f"wait={wait}"}
    )


async def refuse_next_create(gateway: Running, status: int, retry_after: int) -> None:
    """The sandbox answers the next create with ``status`` and ``Retry-After``."""
    transport = gateway.settings.lac.transport
    await gateway.fault(
        kind="http_error",
        status=status,
        retry_after=retry_after,
        transport=transport,
        operation=CREATE_OP[transport],
        calls=1,
    )


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_from_lac_stops_both_replicas_calling_it(
    replicas: tuple[Running, Running], status: int
) -> None:
    first, second = replicas
    await refuse_next_create(first, status, PAUSE)
    refused = await activate(first, "pause-first")
    calls = await first.lac_calls()

    other = await activate(second, "pause-second")
    again = await activate(first, "pause-again")
    # Both pollers get their ticks at the pending job (if any) meanwhile.
    await asyncio.sleep(0.5)

    assert refused.status in (202, 503)
    for reply in (other, again):
        assert problem_of(reply, 503)["type"].endswith("lac-circuit-open")
        assert PAUSE - 5 <= int(reply.headers["Retry-After"]) <= PAUSE
    assert await first.lac_calls() == calls


async def test_calls_resume_once_the_retry_after_has_passed(
    replicas: tuple[Running, Running],
) -> None:
    first, second = replicas
    await refuse_next_create(first, 503, 1)
    await activate(first, "resume-first")

    async def served() -> bool:
        reply = await activate(second, "resume-second", wait=5)
        if reply.status == 503:
            await asyncio.sleep(0.2)  # still paused: ask again a little later
            return False
        assert reply.status == 200, reply.body[:300]
        return bool(reply.json()["state"] == "ready")

    await until(served, "activation after the pause", tries=50)
