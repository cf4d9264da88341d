"""A create slower than the gateway's read timeout still reaches LAC once (exactly-once)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.gwharness import Running, gateway_settings, start_gateway, start_sandbox

BULK = "BULK5-SEATS-DEMO0-00002"
CREATE_OP = {"soap": "CreateLicenseRequest", "rest": "PUT /licenses"}
READ_TIMEOUT = 0.5
CREATE_LATENCY = 1.5  # LAC answers (and creates) three read timeouts after the request


@pytest.fixture(params=["soap", "rest"])
async def slow_lac(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Running]:
    """A gateway whose LAC read timeout is shorter than the sandbox's create latency.

    The reconcile window is generous (longer than the create takes), as in production.
    """
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis_url,
        sandbox_url,
        request.param,
        lac={"read_timeout": READ_TIMEOUT, "total_timeout": READ_TIMEOUT * 2},
        jobs={"reconcile_window": 30.0},
    )
    gw_runner, gw_url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(gw_url, sandbox_url, http, settings, app)
        finally:
            await gw_runner.cleanup()
            await sandbox_runner.cleanup()


async def test_create_slower_than_the_read_timeout_is_sent_once(slow_lac: Running) -> None:
    transport = slow_lac.settings.lac.transport
    await slow_lac.fault(
        kind="latency", transport=transport, operation=CREATE_OP[transport], latency=CREATE_LATENCY
    )

    reply = await slow_lac.activate(BULK, ["HOSTNAME=slow01"], Prefer="wait=20")

    assert reply.status == 200, await reply.text()
    assert (await reply.json())["state"] == "ready"
    assert await slow_lac.creates() == 1
