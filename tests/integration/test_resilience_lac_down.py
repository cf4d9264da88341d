"""LAC fully down: stale licenses served and marked, new work 503 + Retry-After, breaker cycle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from lacsandbox.app import SandboxConfig, create_sandbox_app
from tests.gwharness import (
    SEED_FILE,
    Reply,
    Running,
    gateway_settings,
    problem_of,
    start_gateway,
)

KEY = "SNGLE-HOST1-DEMO0-00001"
HOST_A = "HOSTNAME=stale-a"
HOST_B = "HOSTNAME=fresh-b"
FAILURES = 3
COOLDOWN = 3.0  # long enough that the breaker is still open when B is refused
SETTLE_ATTEMPTS = 200


class SandboxSwitch:
    """A sandbox on a fixed port of 127.0.0.1 that a test can stop and start again."""

    def __init__(self) -> None:
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The sandbox's base URL; the same across restarts."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Serve a freshly seeded sandbox on the port (a free one the first time)."""
        self.runner = web.AppRunner(create_sandbox_app(SandboxConfig(seed=SEED_FILE)))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        """Close the listening socket: LAC refuses connections from now on."""
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture(params=["soap", "rest"])
async def lac_switch(
    request: pytest.FixtureRequest, redis_url: str
) -> AsyncIterator[tuple[Running, SandboxSwitch]]:
    """A gateway with a short license TTL and a quick breaker, and a sandbox it can lose."""
    switch = SandboxSwitch()
    await switch.start()
    settings = gateway_settings(
        redis_url,
        switch.url,
        request.param,
        cache={"license_ttl": 0.2, "stale_window": 3600.0},
        resilience={
            "attempts": 2,
            "base_delay": 0.01,
            "max_delay": 0.02,
            "breaker_failures": FAILURES,
            "breaker_cooldown": COOLDOWN,
        },
    )
    runner, url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(url, switch.url, http, settings, app), switch
        finally:
            await runner.cleanup()
            await switch.stop()


async def breaker_states(gw: Running) -> dict[str, float]:
    """The breaker gauge, by state, from a real /metrics scrape."""
    reply = await gw.call("GET", "/metrics", key=None)
    text = reply.body.decode()
    return {
        sample.labels["state"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "lacgw_lac_breaker_state"
    }


async def readiness(gw: Running) -> tuple[int, dict[str, Any]]:
    """The /readyz status and body."""
    reply = await gw.call("GET", "/readyz", key=None)
    body: dict[str, Any] = reply.json()
    return reply.status, body


async def activate(gw: Running, host: str) -> Reply:
    """POST /v1/activations for ``host`` of the demo order, waiting for the license."""
    body = {"activation_key": KEY, "hostids": [host]}
    return await gw.call("POST", "/v1/activations", json=body)


async def until_ready(gw: Running, host: str) -> Reply:
    """Ask again (as a product would) until the activation is ready."""
    for _ in range(SETTLE_ATTEMPTS):
        reply = await activate(gw, host)
        if reply.status == 200:
            return reply
        assert reply.status in (202, 503), reply.body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{host} never became ready")


async def test_lac_down_serves_stale_fails_fast_and_recovers(
    lac_switch: tuple[Running, SandboxSwitch],
) -> None:
    gw, switch = lac_switch
    first = await activate(gw, HOST_A)
    assert first.status == 200, first.body
    assert first.json()["source"] == "lac"
    assert first.headers["Cache-Status"].startswith("lac-gateway; fwd=miss")
    license_text = first.json()["license"]["content"]
    await asyncio.sleep(0.3)  # past the 0.2 s license TTL: the cached copy is now stale

    await switch.stop()

    stale = await activate(gw, HOST_A)
    assert stale.status == 200, stale.body
    assert stale.json()["stale"] is True
    assert stale.json()["license"]["content"] == license_text
    assert stale.headers["Warning"].startswith("110 ")
    assert "detail=stale" in stale.headers["Cache-Status"]
    fetched = await gw.call("GET", f"/v1/licenses/{KEY}", params={"hostid": HOST_A})
    assert fetched.status == 200
    assert fetched.json()["stale"] is True
    assert "Warning" in fetched.headers

    # By now more than FAILURES calls found LAC unreachable: the breaker is open.
    states = await breaker_states(gw)
    assert states["open"] == 1
    assert states["closed"] == 0
    status, ready = await readiness(gw)
    assert status == 200
    assert ready["checks"]["lac"] == {"status": "degraded", "breaker": "open"}

    refused = await activate(gw, HOST_B)
    problem = problem_of(refused, 503)
    assert problem["type"].endswith("lac-circuit-open")
    assert int(refused.headers["Retry-After"]) >= 1

    await switch.start()
    await asyncio.sleep(COOLDOWN)
    ready_b = await until_ready(gw, HOST_B)
    assert ready_b.json()["state"] == "ready"
    assert (await breaker_states(gw))["closed"] == 1
    status, ready = await readiness(gw)
    assert status == 200
    assert ready["checks"]["lac"] == {"status": "ok", "breaker": "closed"}
    assert await gw.creates() == 1  # the restarted sandbox saw only B's one create


async def test_open_breaker_sends_nothing_to_lac(running: Running) -> None:
    await running.fault(kind="http_error", status=503)
    host = {"type": "HOSTNAME", "value": "breaker-probe"}
    failures = running.settings.resilience.breaker_failures
    for _ in range(failures):
        reply = await running.call("GET", f"/v1/licenses/{KEY}", params={"hostid": "HOSTNAME=x"})
        assert reply.status == 503
    sent = await running.lac_calls()
    body = {"activation_key": KEY, "hostids": [host]}
    refused = await running.call("POST", "/v1/activations", json=body)
    assert problem_of(refused, 503)["type"].endswith("lac-circuit-open")
    assert "Retry-After" in refused.headers
    assert await running.lac_calls() == sent
