"""What ``/metrics`` exports besides traffic: process and build facts, Redis health, no noise."""

from __future__ import annotations

import platform
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from lacsandbox.localredis import LocalRedis
from tests.gwharness import Running, gateway_settings, start_gateway, start_sandbox

Samples = dict[str, list[tuple[dict[str, str], float]]]


def samples_of(text: str) -> Samples:
    """Every sample of a scrape, by sample name: (labels, value)."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


async def scrape(http: aiohttp.ClientSession, url: str) -> tuple[str, Samples]:
    """One scrape of the gateway at ``url``: its text and its samples."""
    async with http.get(f"{url}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    return text, samples_of(text)


async def test_no_created_series_are_exported(running: Running) -> None:
    assert (await running.activate("SNGLE-HOST1-DEMO0-00001", ["HOSTNAME=m01"])).status == 200
    text, samples = await scrape(running.http, running.gateway)
    assert samples["lacgw_jobs_total"], "the counters are there"
    created = [line for line in text.splitlines() if "_created" in line.split("{")[0]]
    assert created == []


async def test_process_and_python_collectors_are_exported(running: Running) -> None:
    _, samples = await scrape(running.http, running.gateway)
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "python_info"):
        assert name in samples, name
    assert any(name.startswith("python_gc_") for name in samples)


async def test_build_info_names_version_python_and_transport(running: Running) -> None:
    _, samples = await scrape(running.http, running.gateway)
    [(labels, value)] = samples["lacgw_build_info"]
    assert value == 1
    assert set(labels) == {"version", "python", "transport"}
    assert labels["python"] == platform.python_version()
    assert labels["transport"] == running.settings.lac.transport
    assert labels["version"]


async def test_redis_up_and_round_trip_follow_the_health_probe(tmp_path: Path) -> None:
    redis = LocalRedis(tmp_path / "redis")
    redis.start()
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis.url, sandbox_url, "soap", redis={"socket_timeout": 0.5, "connect_timeout": 0.5}
    )
    runner, url, _ = await start_gateway(settings)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/readyz") as resp:
                assert resp.status == 200
            _, up = await scrape(http, url)
            assert up["lacgw_redis_up"] == [({}, 1.0)]
            # The readiness probe and the scrape itself each timed one write probe.
            assert up["lacgw_redis_roundtrip_seconds_count"] == [({}, 2.0)]
            redis.kill()
            async with http.get(f"{url}/readyz") as resp:
                assert resp.status == 503
            _, down = await scrape(http, url)
            assert down["lacgw_redis_up"] == [({}, 0.0)]
            # A failed probe has no round trip to time.
            assert down["lacgw_redis_roundtrip_seconds_count"] == [({}, 2.0)]
    finally:
        await runner.cleanup()
        await sandbox_runner.cleanup()
        redis.stop()
