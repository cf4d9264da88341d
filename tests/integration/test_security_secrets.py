"""No secret and no license text in the logs, even at DEBUG, through a whole scenario."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from lacsandbox.app import SandboxConfig, create_sandbox_app
from lacsandbox.localredis import free_port
from tests.gwharness import ADMIN_KEY, FLEET_KEY, PRODUCT_SCOPES, SEED_FILE, serve, sha256

ROOT = Path(__file__).resolve().parents[2]
LAC_PASSWORD = "Lac-Vendor-Pw-9f3c1e"  # distinctive, so any leak is found verbatim
WRONG_KEY = "not-a-known-key-5d2a7b"
KEY = "SNGLE-HOST1-DEMO0-00001"
HOST = "HOSTNAME=secret-host"
STARTUP_SECONDS = 30.0


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """The sandbox with the vendor password above, and a client for its control API."""
    seed = tmp_path / "sandbox.toml"
    text = SEED_FILE.read_text()
    assert 'password = "demo"' in text
    seed.write_text(text.replace('password = "demo"', f'password = "{LAC_PASSWORD}"', 1))
    runner, url = await serve(create_sandbox_app(SandboxConfig(seed=seed)))
    async with aiohttp.ClientSession() as http:
        try:
            yield url, http
        finally:
            await runner.cleanup()


def gateway_process(
    redis_url: str, sandbox: str, transport: str, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m gateway serve`` at DEBUG level, its output into ``log``."""
    port = free_port()
    keys = json.dumps(
        [
            {"name": "fleet", "sha256": sha256(FLEET_KEY), "scopes": PRODUCT_SCOPES},
            {"name": "ops", "sha256": sha256(ADMIN_KEY), "admin": True},
        ]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LACGW_")}
    env.update(
        LACGW_HTTP__HOST="127.0.0.1",
        LACGW_HTTP__PORT=str(port),
        LACGW_REDIS__URL=redis_url,
        LACGW_REDIS__KEY_PREFIX=f"s{uuid.uuid4().hex[:10]}",
        LACGW_LAC__TRANSPORT=transport,
        LACGW_LAC__SOAP_URL=f"{sandbox}/soap/type/enduser/version/2",
        LACGW_LAC__VENDOR_SOAP_URL=f"{sandbox}/soap/type/vendor/version/4",
        LACGW_LAC__REST_URL=f"{sandbox}/rest/v2",
        LACGW_LAC__USERNAME="demo",
        LACGW_LAC__PASSWORD=LAC_PASSWORD,
        LACGW_LAC__ALLOW_PLAIN_HTTP="true",
        LACGW_JOBS__FIRST_POLL="0.05",
        LACGW_JOBS__POLL_TICK="0.05",
        LACGW_AUTH__API_KEYS=keys,
        LACGW_LOG__LEVEL="DEBUG",
        LACGW_LOG__FORMAT="json",
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, f"http://127.0.0.1:{port}"


async def wait_ready(http: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes]) -> None:
    """Until /readyz answers 200."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_SECONDS
    while loop.time() < deadline:
        assert proc.poll() is None, "the gateway exited during start-up"
        try:
            async with http.get(f"{url}/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the gateway did not become ready")


async def scenario(http: aiohttp.ClientSession, gw: str, sandbox: str) -> str:
    """Activations, cache, orders, counters, a token expiry, failures; returns the license."""
    fleet = {"Authorization": f"Bearer {FLEET_KEY}"}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    body = {"activation_key": KEY, "hostids": [HOST]}
    async with http.post(f"{gw}/v1/activations", json=body, headers=fleet) as resp:
        assert resp.status == 200
        content: str = (await resp.json())["license"]["content"]
    async with http.post(f"{gw}/v1/activations", json=body, headers=fleet) as resp:
        assert resp.status == 200
    params = {"hostid": HOST}
    async with http.get(f"{gw}/v1/licenses/{KEY}", params=params, headers=fleet) as resp:
        assert resp.status == 200
    async with http.get(f"{gw}/v1/orders/{KEY}", headers=fleet) as resp:
        assert resp.status == 200
    async with http.post(f"{sandbox}/_sandbox/tokens/expire") as resp:
        assert resp.status in (200, 204)
    async with http.get(f"{gw}/v1/admin/lac/counters", headers=admin) as resp:
        assert resp.status == 200
    async with http.get(
        f"{gw}/v1/admin/jobs", headers={"Authorization": f"Bearer {WRONG_KEY}"}
    ) as r:
        assert r.status == 401
    # Failures log the most: a LAC error on the license fetch after the cache is purged.
    async with http.post(f"{gw}/v1/admin/cache/{KEY}", params=params, headers=admin) as resp:
        assert resp.status == 200
    fault = {"kind": "malformed", "calls": 20}
    async with http.post(f"{sandbox}/_sandbox/faults", json=fault) as resp:
        assert resp.status == 201
    async with http.get(f"{gw}/v1/licenses/{KEY}", params=params, headers=fleet) as resp:
        assert resp.status >= 500
    async with http.delete(f"{gw}/v1/licenses/{KEY}", params=params, headers=fleet) as resp:
        assert resp.status >= 400
    return content


@pytest.mark.parametrize("transport", ["soap", "rest"])
async def test_debug_logs_hold_no_password_api_key_or_license(
    redis_url: str, sandbox: tuple[str, aiohttp.ClientSession], tmp_path: Path, transport: str
) -> None:
    sandbox_url, http = sandbox
    log = tmp_path / "gateway.log"
    proc, gw = gateway_process(redis_url, sandbox_url, transport, log)
    try:
        await wait_ready(http, gw, proc)
        content = await scenario(http, gw, sandbox_url)
    finally:
        proc.terminate()
        proc.wait(30)
    text = log.read_text()
    assert '"level":"debug"' in text  # the scenario really ran at DEBUG
    assert '"event":"http_request"' in text
    for secret in (LAC_PASSWORD, FLEET_KEY, ADMIN_KEY, WRONG_KEY, KEY):
        assert secret not in text, secret
    license_lines = [line.strip() for line in content.splitlines() if len(line.strip()) >= 12]
    assert license_lines
    for line in license_lines:
        assert line not in text, line


def malformed_requests(port: int) -> list[bytes]:
    """Requests aiohttp's parser refuses or cannot decode, each carrying secrets."""
    auth = f"Authorization: Bearer {FLEET_KEY}\r\n".encode()
    body = json.dumps({"activation_key": KEY, "hostids": [HOST]}).encode()
    head = f"POST /v1/activations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode() + auth
    return [
        head + f"X-Host: {HOST}\x01\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body,
        head + b"Transfer-Encoding: chunked\r\n\r\nzz" + body + b"\r\n0\r\n\r\n",
        head + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
        head + f"X-Key: {KEY}{'A' * 20000}\r\n\r\n".encode(),
        b"G\x01T /v1/licenses/" + KEY.encode() + b" HTTP/1.1\r\n" + auth + b"\r\n",
        f"GET /v1/licenses/{KEY}?hostid={HOST}{'a' * 10000} HTTP/1.1\r\n".encode() + auth,
        head + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
        head + b"Content-Encoding: br\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
        head + b"Content-Length: 500\r\n\r\n" + body,  # then the client hangs up
    ]


async def send_and_hang_up(port: int, data: bytes) -> bytes:
    """Send ``data``, read what comes back within a moment, close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        with contextlib.suppress(TimeoutError, ConnectionError):
            return await asyncio.wait_for(reader.read(65536), 2)
        return b""
    finally:
        writer.close()


@pytest.mark.slow
async def test_debug_logs_of_malformed_requests_are_json_without_keys_or_hostids(
    redis_url: str, sandbox: tuple[str, aiohttp.ClientSession], tmp_path: Path
) -> None:
    sandbox_url, http = sandbox
    log = tmp_path / "gateway.log"
    proc, gw = gateway_process(redis_url, sandbox_url, "soap", log)
    port = int(gw.rsplit(":", 1)[1])
    try:
        await wait_ready(http, gw, proc)
        answers = [await send_and_hang_up(port, data) for data in malformed_requests(port)]
    finally:
        proc.terminate()
        proc.wait(30)
    for answer in answers[:-1]:
        assert b"application/problem+json" in answer, answer[:300]
        assert b"aiohttp" not in answer
    text = log.read_text()
    assert '"level":"debug"' in text
    for line in text.splitlines():
        json.loads(line)  # every line is a JSON object, tracebacks included
    for secret in (FLEET_KEY, KEY, HOST, "secret-host", '"level":"error"'):
        assert secret not in text, secret
