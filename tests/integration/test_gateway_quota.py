"""The activation-quota gauge: refreshed in the background and by the admin counters route."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway.api.keys import METRICS
from gateway.metrics import Metrics
from tests.gwharness import (
    ADMIN_KEY,
    Running,
    gateway_settings,
    start_gateway,
    start_sandbox,
    until,
)

BULK = "BENCH-BULKX-DEMO0-00003"


def activations_left(metrics: Metrics) -> float:
    """One-time plus subscription activations left, as the gauge says (0 when unset)."""
    return sum(
        metrics.registry.get_sample_value("lacgw_lac_activations_left", {"kind": kind}) or 0.0
        for kind in ("one_time", "subscription")
    )


@pytest.fixture(params=["soap", "rest"])
async def quick_counters(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Running]:
    """A gateway that reads the activation counters every 50 ms."""
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis_url, sandbox_url, request.param, lac={"counters_interval": 0.05}
    )
    gw_runner, gw_url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(gw_url, sandbox_url, http, settings, app)
        finally:
            await gw_runner.cleanup()
            await sandbox_runner.cleanup()


async def test_background_refresh_follows_the_quota_an_activation_consumes(
    quick_counters: Running,
) -> None:
    metrics = quick_counters.app[METRICS]

    async def refreshed() -> bool:
        return activations_left(metrics) > 0

    # No admin call is made: only the background refresh can set the gauge.
    await until(refreshed, "the background refresh sets lacgw_lac_activations_left")
    before = activations_left(metrics)

    reply = await quick_counters.activate(BULK, ["HOSTNAME=quota01"])
    assert reply.status == 200, await reply.text()

    async def consumed() -> bool:
        return activations_left(metrics) == before - 1

    await until(consumed, "the gauge shows the activation LAC counted")


async def test_admin_counters_route_sets_the_gauge(running: Running) -> None:
    metrics = running.app[METRICS]
    first = await running.call("GET", "/v1/admin/lac/counters", key=ADMIN_KEY)
    assert first.status == 200, first.body
    before = activations_left(metrics)
    assert before > 0

    assert (await running.activate(BULK, ["HOSTNAME=quota02"])).status == 200
    again = await running.call("GET", "/v1/admin/lac/counters", key=ADMIN_KEY)
    assert again.status == 200
    assert activations_left(metrics) == before - 1

    scrape = await running.call("GET", "/metrics", key=None)
    assert 'lacgw_lac_activations_left{kind="one_time"}' in scrape.body.decode()


async def test_background_refresh_runs_only_with_vendor_credentials(redis_url: str) -> None:
    sandbox_runner, sandbox_url = await start_sandbox()
    try:
        for username, expected in (("", 0), ("demo", 1)):
            settings = gateway_settings(redis_url, sandbox_url, "soap", lac={"username": username})
            gw_runner, _, _ = await start_gateway(settings)
            try:
                tasks = [t for t in asyncio.all_tasks() if t.get_name() == "counters"]
                assert len(tasks) == expected, username
            finally:
                await gw_runner.cleanup()
    finally:
        await sandbox_runner.cleanup()


async def test_counters_are_typed_and_carry_no_parser_leftovers(running: Running) -> None:
    # The sandbox's reply carries free_activations_left_count, as LAC's documented example
    # does; the WSDL does not declare it.
    reply = await running.call("GET", "/v1/admin/lac/counters", key=ADMIN_KEY)
    assert reply.status == 200, reply.body
    assert b"_raw_elements" not in reply.body
    assert b"deque" not in reply.body
    assert b"Element" not in reply.body
    body = reply.json()
    assert set(body) == {
        "activation_subscriptions",
        "one_time_activations_left_count",
        "one_time_activations_expiration_date",
    }
    assert isinstance(body["one_time_activations_left_count"], int)
    subscription = body["activation_subscriptions"][0]
    assert set(subscription) == {
        "start_date",
        "expiration_date",
        "next_reset_date",
        "activations_left_count",
        "default_count",
    }
    assert isinstance(subscription["activations_left_count"], int)


async def test_the_counters_answer_is_documented_in_openapi(running: Running) -> None:
    spec = (await running.call("GET", "/openapi.json", key=None)).json()
    answer = spec["paths"]["/v1/admin/lac/counters"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "one_time_activations_left_count" in schema["properties"]
    assert "activation_subscriptions" in schema["properties"]
