"""Fuzzing the running gateway: schemathesis from /openapi.json, broken framings and encodings.

No 5xx, no answer off the schema; requests aiohttp's parser refuses or cannot decode, on every
documented route, get a 4xx problem+json too.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.gwharness import (
    ADMIN_KEY,
    Running,
    exchange,
    gateway_settings,
    port_of,
    requests_counted,
    start_gateway,
    start_sandbox,
)

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
    return requests_counted(gw, "route")


async def schemathesis(
    target: Running, tmp_path: Path, checks: str, examples: int, *headers: str
) -> tuple[int | None, bytes]:
    """One schemathesis run against ``target``: its exit code and output."""
    options = [arg for header in headers for arg in ("--header", header)]
    # The document is read beforehand: the extra headers would spoil fetching it too.
    document = tmp_path / "openapi.json"
    document.write_bytes((await target.call("GET", "/openapi.json", key=None)).body)
    # The fuzzer runs as its own process, so this event loop stays free to serve it.
    proc = await asyncio.create_subprocess_exec(
        schemathesis_cli(),
        "run",
        str(document),
        "--url",
        target.gateway,
        "--checks",
        checks,
        "--header",
        f"Authorization: Bearer {ADMIN_KEY}",
        *options,
        "--max-examples",
        str(examples),
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
    return proc.returncode, output


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_generated_requests_on_every_route_get_no_5xx_and_match_the_schema(
    target: Running, tmp_path: Path
) -> None:
    returncode, output = await schemathesis(target, tmp_path, CHECKS, EXAMPLES_PER_OPERATION)
    assert returncode == 0, output.decode(errors="replace")[-6000:]

    served = requests_served(target)
    assert sum(served.values()) >= MIN_REQUESTS, served
    documented = (await target.call("GET", "/openapi.json", key=None)).json()["paths"]
    assert set(documented) <= set(served), set(documented) - set(served)
    assert not any(status.startswith("5") for status in statuses(target)), statuses(target)


def statuses(gw: Running) -> set[str]:
    """Every HTTP status the gateway answered with."""
    return set(requests_counted(gw, "status"))


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd", "x-unknown"])
async def test_generated_requests_with_bodies_that_do_not_decode_get_no_5xx(
    target: Running, tmp_path: Path, coding: str
) -> None:
    # Every generated body is plain JSON labelled with a coding it is not in.
    returncode, output = await schemathesis(
        target, tmp_path, "not_a_server_error", 5, f"Content-Encoding: {coding}"
    )
    assert returncode == 0, output.decode(errors="replace")[-6000:]
    assert not any(status.startswith("5") for status in statuses(target)), statuses(target)
    assert any(status in ("400", "415") for status in statuses(target)), statuses(target)


SAMPLE_PARAMS = {
    "{id}": "act_" + "a" * 26,
    "{activation_key}": "AAAAA-BBBBB-CCCCC-DDDDD",
}
BODY = b'{"activation_key": "AAAAA-BBBBB-CCCCC-DDDDD", "hostids": ["HOSTNAME=fuzz01"]}'


def broken_requests(method: str, path: str) -> dict[str, bytes]:
    """One request per way of breaking HTTP framing or a body's encoding, for one route."""
    start = f"{method} {path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {ADMIN_KEY}\r\n"
    head = start.encode()
    sized = b"Content-Length: %d\r\n" % len(BODY)
    end = b"Connection: close\r\n\r\n"
    many = b"".join(b"X%d:\r\n" % n for n in range(20000))
    return {
        "bad chunk size": head + b"Transfer-Encoding: chunked\r\n" + end + b"zz\r\n0\r\n\r\n",
        "chunked and content-length": head + b"Transfer-Encoding: chunked\r\n" + sized + end,
        "duplicate content-length": head + sized + sized + end + BODY,
        "invalid header byte": head + b"X-A: a\x01b\r\n" + sized + end + BODY,
        "nul in header": head + b"X-A: a\x00b\r\n" + end,
        "header without colon": head + b"NoColon\r\n" + end,
        "bad method": head.replace(method.encode(), b"G(T", 1) + end,
        "long target": head.replace(path.encode(), path.encode() + b"a" * 70000, 1) + end,
        "long header": head + b"X-Long: " + b"v" * 70000 + b"\r\n" + end,
        "too many headers": head + many + end,
        "gzip junk": head + b"Content-Encoding: gzip\r\n" + sized + end + BODY,
        "deflate junk": head + b"Content-Encoding: deflate\r\n" + sized + end + BODY,
        "brotli": head + b"Content-Encoding: br\r\n" + sized + end + BODY,
        "zstd": head + b"Content-Encoding: zstd\r\n" + sized + end + BODY,
        "unknown coding": head + b"Content-Encoding: x-unknown\r\n" + sized + end + BODY,
    }


def documented_operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, concrete path) of every operation in the OpenAPI document."""
    operations = []
    for template, item in document["paths"].items():
        path = template
        for name, value in SAMPLE_PARAMS.items():
            path = path.replace(name, value)
        for method in item:
            if method in ("get", "post", "put", "delete", "patch"):
                operations.append((method.upper(), path))
    return operations


@pytest.mark.timeout(300)
async def test_broken_framings_and_encodings_on_every_route_get_a_4xx_problem(
    target: Running,
) -> None:
    document = (await target.call("GET", "/openapi.json", key=None)).json()
    operations = documented_operations(document)
    assert len(operations) >= 10
    answered: list[int] = []
    for method, path in operations:
        for case, data in broken_requests(method, path).items():
            reply = await exchange(target, data)
            assert reply.status < 500, (method, path, case, reply.status, reply.body[:300])
            assert "aiohttp" not in reply.headers.get("Server", ""), (method, path, case)
            if reply.status >= 400:
                assert reply.content_type == "application/problem+json", (method, path, case)
            answered.append(reply.status)
    assert port_of(target) > 0
    assert len(answered) == len(operations) * 15
    assert not any(status.startswith("5") for status in statuses(target)), statuses(target)
