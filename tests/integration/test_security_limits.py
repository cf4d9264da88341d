"""Rate limits per API key and per client IP, shared by replicas; path and header size limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.gwharness import (
    ADMIN_KEY,
    FLEET_KEY,
    Reply,
    Running,
    gateway_settings,
    problem_of,
    start_gateway,
    start_sandbox,
)

PER_KEY = 5
PER_IP = 3
UNKNOWN_ACTIVATION = "/v1/activations/" + "0" * 64


@pytest.fixture
async def pair(redis_url: str) -> AsyncIterator[tuple[Running, Running]]:
    """Two gateway replicas on one Redis prefix with small limits, and one sandbox."""
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis_url,
        sandbox_url,
        "soap",
        limits={"per_key": PER_KEY, "per_ip": PER_IP, "window": 600.0, "max_header_bytes": 4096},
    )
    runners: list[web.AppRunner] = []
    replicas: list[tuple[str, web.Application]] = []
    for _ in range(2):
        runner, url, app = await start_gateway(settings)
        runners.append(runner)
        replicas.append((url, app))
    async with aiohttp.ClientSession() as http:
        try:
            first, second = (Running(u, sandbox_url, http, settings, a) for u, a in replicas)
            yield first, second
        finally:
            for runner in runners:
                await runner.cleanup()
            await sandbox_runner.cleanup()


async def lookup(gw: Running, key: str | None = FLEET_KEY) -> Reply:
    """A cheap authenticated request that never reaches LAC (an unknown activation id)."""
    return await gw.call("GET", UNKNOWN_ACTIVATION, key=key)


async def test_an_api_key_over_its_limit_gets_429_with_retry_after(
    pair: tuple[Running, Running],
) -> None:
    gw, _ = pair
    remaining = []
    for _ in range(PER_KEY):
        reply = await lookup(gw)
        assert reply.status == 404
        assert reply.headers["RateLimit-Limit"] == str(PER_KEY)
        remaining.append(int(reply.headers["RateLimit-Remaining"]))
    assert remaining == list(range(PER_KEY - 1, -1, -1))
    refused = await lookup(gw)
    body = problem_of(refused, 429)
    assert body["type"].endswith("rate-limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert int(refused.headers["RateLimit-Reset"]) >= 1
    # Another key has its own budget.
    assert (await lookup(gw, ADMIN_KEY)).status == 404
    unknown_route = await gw.call("GET", "/v1/no-such-route", key=ADMIN_KEY)
    assert unknown_route.status == 404
    assert unknown_route.headers["RateLimit-Remaining"] == str(PER_KEY - 2)


async def test_the_limit_holds_across_replicas(pair: tuple[Running, Running]) -> None:
    first, second = pair
    statuses = [(await lookup(gw)).status for gw in (first, second) * PER_KEY]
    assert statuses[:PER_KEY] == [404] * PER_KEY
    assert statuses[PER_KEY:] == [429] * PER_KEY


async def test_requests_without_a_key_are_limited_per_ip(pair: tuple[Running, Running]) -> None:
    gw, _ = pair
    statuses = [(await gw.call("GET", "/openapi.json", key=None)).status for _ in range(PER_IP)]
    assert statuses == [200] * PER_IP
    problem_of(await gw.call("GET", "/openapi.json", key=None), 429)
    problem_of(await lookup(gw, key=None), 429)  # unauthenticated /v1 calls count by IP too
    # The caller with a key is counted apart from its address.
    assert (await lookup(gw)).status == 404


async def test_probes_and_scrapes_are_never_limited(pair: tuple[Running, Running]) -> None:
    gw, _ = pair
    for path in ("/healthz", "/readyz", "/metrics"):
        for _ in range(PER_IP + 2):
            reply = await gw.call("GET", path, key=None)
            assert reply.status == 200, (path, reply.body[:200])
            assert "RateLimit-Limit" not in reply.headers


@pytest.mark.parametrize(
    ("what", "request_args", "status"),
    [
        ("long_path", {"path": "/v1/orders/" + "A" * 3000}, 414),
        ("long_query", {"path": "/healthz", "params": {"q": "x" * 3000}}, 414),
        ("large_headers", {"path": "/healthz", "headers": {"X-Padding": "p" * 5000}}, 431),
    ],
)
async def test_oversized_requests_are_refused_before_any_work(
    pair: tuple[Running, Running], what: str, request_args: dict[str, Any], status: int
) -> None:
    gw, _ = pair
    path = request_args.pop("path")
    reply = await gw.call("GET", path, **request_args)
    problem_of(reply, status)
    assert await gw.lac_calls() == 0, what
