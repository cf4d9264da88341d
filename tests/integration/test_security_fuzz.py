"""schemathesis against the running gateway's /openapi.json: no 5xx, no answer off its schema."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from gwharness import ADMIN_KEY, Running, gateway_settings, start_gateway, start_sandbox

from gateway.api.keys import METRICS

MIN_REQUESTS = 1000
EXAMPLES_PER_OPERATION = 80
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture
async def target(redis_url: str) -> AsyncIterator[Running]:
    """A gateway toward the sandbox, rate limits out of the fuzzer's way."""
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis_url,
        sandbox_url,
        "soap",
        limits={"per_key": 1_000_000, "per_ip": 1_000_000},
        http={"default_wait": 0.5, "max_wait": 1.0},
    )
    runner, url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(url, sandbox_url, http, settings, app)
        finally:
            await runner.cleanup()
            await sandbox_runner.cleanup()


def schemathesis_cli() -> str:
    """The ``st`` command installed beside this interpreter."""
    found = shutil.which("st", path=str(Path(sys.executable).parent))
    assert found is not None, "schemathesis is a dev dependency: pip install -e '.[dev]'"
    return found


def requests_served(gw: Running) -> dict[str, float]:
    """Requests the gateway answered, by route template, from its own metrics."""
    served: dict[str, float] = {}
    for family in gw.app[METRICS].registry.collect():
        for sample in family.samples:
            if sample.name == "lacgw_http_requests_total":
                route = sample.labels["route"]
                served[route] = served.get(route, 0.0) + sample.value
    return served


@pytest.mark.timeout(600)
async def test_generated_requests_on_every_route_get_no_5xx_and_match_the_schema(
    target: Running, tmp_path: Path
) -> None:
    # The fuzzer runs as its own process, so this event loop stays free to serve it.
    proc = await asyncio.create_subprocess_exec(
        schemathesis_cli(),
        "run",
        f"{target.gateway}/openapi.json",
        "--checks",
        CHECKS,
        "--header",
        f"Authorization: Bearer {ADMIN_KEY}",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20261122",
        "--generation-database",
        "none",
        # One worker: CPython 3.11's parser is not safe to use from several threads at once.
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-color",
        "--report-dir",
        str(tmp_path),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    assert proc.returncode == 0, output.decode(errors="replace")[-6000:]

    served = requests_served(target)
    assert sum(served.values()) >= MIN_REQUESTS, served
    documented = (await target.call("GET", "/openapi.json", key=None)).json()["paths"]
    assert set(documented) <= set(served), set(documented) - set(served)
    assert not any(status.startswith("5") for status in statuses(target)), statuses(target)


def statuses(gw: Running) -> set[str]:
    """Every HTTP status the gateway answered with."""
    return {
        sample.labels["status"]
        for family in gw.app[METRICS].registry.collect()
        for sample in family.samples
        if sample.name == "lacgw_http_requests_total"
    }
