"""Shared test harness: the sandbox and the gateway on real sockets, and a client for both."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gateway.api.keys import METRICS, REDIS
from gateway.api.protocol import GatewayRunner
from gateway.app import create_app
from gateway.settings import Settings
from lacsandbox.app import SandboxConfig, create_sandbox_app

SEED_FILE = Path(__file__).resolve().parents[1] / "config" / "sandbox.toml"
FLEET_KEY = "fleet-test-key-0123456789"
# What the fleet key of these tests may do: activate, read, and withdraw what it activated.
PRODUCT_SCOPES = ["activate", "read", "deactivate"]
ADMIN_KEY = "admin-test-key-0123456789"


def sha256(text: str) -> str:
    """Hex SHA-256, the form API keys are configured in."""
    return hashlib.sha256(text.encode()).hexdigest()


async def serve(
    app: web.Application, runner_class: type[web.AppRunner] = web.AppRunner
) -> tuple[web.AppRunner, str]:
    """Run ``app`` on a free port of 127.0.0.1; returns the runner and the base URL."""
    # A short drain: a test's teardown must not wait a minute for a handler left hanging.
    runner = runner_class(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def start_sandbox() -> tuple[web.AppRunner, str]:
    """The sandbox seeded from config/sandbox.toml, on real time."""
    return await serve(create_sandbox_app(SandboxConfig(seed=SEED_FILE)))


def gateway_settings(redis_url: str, sandbox_url: str, transport: str, **over: Any) -> Settings:
    """Gateway settings toward the sandbox, with fast job timings and a private key prefix."""
    values: dict[str, Any] = {
        "redis": {"url": redis_url, "key_prefix": f"t{uuid.uuid4().hex[:10]}"},
        "lac": {
            "transport": transport,
            "soap_url": f"{sandbox_url}/soap/type/enduser/version/2",
            "vendor_soap_url": f"{sandbox_url}/soap/type/vendor/version/4",
            "rest_url": f"{sandbox_url}/rest/v2",
            "username": "demo",
            "password": "demo",
            "allow_plain_http": True,
            "read_timeout": 5.0,
            "total_timeout": 8.0,
        },
        # A short reconcile window: a create the sandbox dropped is sent again within a second.
        "jobs": {
            "first_poll": 0.05,
            "max_interval": 0.2,
            "poll_tick": 0.02,
            "lease": 3.0,
            "reconcile_window": 1.0,
        },
        "http": {"default_wait": 5.0},
        "auth": {
            "api_keys": [
                {"name": "fleet", "sha256": sha256(FLEET_KEY), "scopes": PRODUCT_SCOPES},
                {"name": "ops", "sha256": sha256(ADMIN_KEY), "admin": True},
            ]
        },
        "log": {"level": "WARNING", "format": "json"},
    }
    for section, changes in over.items():
        values[section] = {**values.get(section, {}), **changes}
    return Settings(**values)


@dataclass
class Running:
    """A gateway and a sandbox on real sockets, with one HTTP client for both."""

    gateway: str
    sandbox: str
    http: aiohttp.ClientSession
    settings: Settings
    app: web.Application

    def auth(self, key: str = FLEET_KEY) -> dict[str, str]:
        """The Authorization header for ``key``."""
        return {"Authorization": f"Bearer {key}"}

    async def activate(
        self, key: str, hostids: list[Any], **headers: str
    ) -> aiohttp.ClientResponse:
        """POST /v1/activations and read the body (available as ``.json()`` afterwards)."""
        body = {"activation_key": key, "hostids": hostids}
        resp = await self.http.post(
            f"{self.gateway}/v1/activations", json=body, headers={**self.auth(), **headers}
        )
        await resp.read()
        return resp

    async def counters(self) -> dict[str, dict[str, int]]:
        """The sandbox's call counters."""
        async with self.http.get(f"{self.sandbox}/_sandbox/counters") as resp:
            data: dict[str, dict[str, int]] = await resp.json()
            return data

    async def creates(self) -> int:
        """How many create calls (SOAP CreateLicenseRequest or REST PUT) the sandbox received."""
        c = await self.counters()
        return c.get("soap", {}).get("CreateLicenseRequest", 0) + c.get("rest", {}).get(
            "PUT /licenses", 0
        )

    async def lac_calls(self) -> int:
        """Every call the sandbox received."""
        return sum(sum(ops.values()) for ops in (await self.counters()).values())

    async def put_order(self, key: str, **fields: Any) -> None:
        """Create or change an order in the sandbox."""
        url = f"{self.sandbox}/_sandbox/orders/{key}"
        async with self.http.put(url, json={"activation_key": key, **fields}) as resp:
            assert resp.status in (200, 201), await resp.text()

    async def fault(self, **spec: Any) -> None:
        """Inject a fault into the sandbox."""
        async with self.http.post(f"{self.sandbox}/_sandbox/faults", json=spec) as resp:
            assert resp.status == 201, await resp.text()

    async def clear_faults(self) -> None:
        """Remove every fault from the sandbox."""
        async with self.http.delete(f"{self.sandbox}/_sandbox/faults") as resp:
            assert resp.status in (200, 204), await resp.text()

    async def expire_tokens(self) -> None:
        """Make every vendor token the sandbox issued stop working now."""
        async with self.http.post(f"{self.sandbox}/_sandbox/tokens/expire") as resp:
            assert resp.status in (200, 204), await resp.text()

    async def count(self, transport: str, operation: str) -> int:
        """Calls the sandbox received for one operation of one transport."""
        return (await self.counters()).get(transport, {}).get(operation, 0)

    async def logins(self) -> int:
        """Vendor logins the sandbox received, SOAP or REST."""
        return await self.count("soap", "Login") + await self.count(
            "rest", "vendor POST /auth/tokens"
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = FLEET_KEY,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Reply:
        """One request to the gateway, read whole; ``key=None`` sends no Authorization."""
        sent = {**(self.auth(key) if key is not None else {}), **(headers or {})}
        async with self.http.request(
            method, f"{self.gateway}{path}", headers=sent, **kwargs
        ) as resp:
            return Reply(resp.status, dict(resp.headers), await resp.read())

    async def redis_keys(self) -> set[bytes]:
        """Every Redis key under this gateway's prefix."""
        redis = self.app[REDIS]
        pattern = f"{self.settings.redis.key_prefix}:*"
        return {key async for key in redis.scan_iter(match=pattern, count=1000)}

    async def state_keys(self) -> set[bytes]:
        """The gateway's Redis keys that hold state, leaving out per-caller rate counters.

        Rate limiting counts every request, refused ones included, so its counters move with
        any request; what a request must not leave behind is a job, license, rejection or
        idempotency record.
        """
        return {key for key in await self.redis_keys() if not key.endswith(b":rate")}


@dataclass(frozen=True)
class Reply:
    """A gateway answer, read whole."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        """The media type, without parameters."""
        return self.headers.get("Content-Type", "").split(";")[0].strip()


AppChange = Callable[[web.Application], None]
"""Changes a test makes to the gateway's application before it serves (a middleware taken out)."""


async def start_gateway(
    settings: Settings, change: AppChange | None = None
) -> tuple[web.AppRunner, str, web.Application]:
    """The gateway app on a free port, served as ``python -m gateway serve`` serves it."""
    app = create_app(settings)
    if change is not None:
        change(app)
    runner, url = await serve(app, GatewayRunner)
    return runner, url, app


def problem_of(reply: Reply, status: int) -> dict[str, Any]:
    """The problem+json body of ``reply``, checked to be a well-formed problem with ``status``."""
    assert reply.status == status, (reply.status, reply.body[:500])
    assert reply.content_type == "application/problem+json", reply.headers
    body: dict[str, Any] = reply.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"]
    assert body["request_id"] == reply.headers["X-Request-ID"]
    return body


async def until(check: Callable[[], Awaitable[bool]], what: str, tries: int = 1000) -> None:
    """Wait, polling every 10 ms, for ``check`` to hold; fails the test if it never does."""
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def port_of(gw: Running) -> int:
    """The gateway's TCP port."""
    return int(gw.gateway.rsplit(":", 1)[1])


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status and headers of a response head."""
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    return int(lines[0].split(" ")[1]), headers


async def read_reply(reader: asyncio.StreamReader, head: bytes | None = None) -> Reply:
    """The final response off ``reader`` (``head`` if already read), skipping 1xx ones."""
    while True:
        status, headers = parse_head(head or await reader.readuntil(b"\r\n\r\n"))
        if status >= 200:
            break
        head = None
    body = await reader.readexactly(int(headers.get("Content-Length", "0")))
    return Reply(status, headers, body)


async def exchange(gw: Running, data: bytes) -> Reply:
    """Send ``data`` on a new connection and read the one answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(read_reply(reader), 10)
    finally:
        writer.close()


def requests_counted(gw: Running, label: str) -> dict[str, float]:
    """Requests the gateway answered (``lacgw_http_requests_total``), summed by one label."""
    counted: dict[str, float] = {}
    for family in gw.app[METRICS].registry.collect():
        for sample in family.samples:
            if sample.name == "lacgw_http_requests_total":
                value = sample.labels[label]
                counted[value] = counted.get(value, 0.0) + sample.value
    return counted


@asynccontextmanager
async def gateways(
    settings_of: Callable[[str], Sequence[Settings]],
    changes: Sequence[AppChange | None] = (),
) -> AsyncIterator[list[Running]]:
    """One sandbox and a gateway for each of ``settings_of(sandbox_url)``, the n-th with the
    n-th of ``changes`` made to its application, sharing one HTTP client."""
    sandbox_runner, sandbox_url = await start_sandbox()
    started: list[tuple[web.AppRunner, str, web.Application, Settings]] = []
    try:
        for n, settings in enumerate(settings_of(sandbox_url)):
            change = changes[n] if n < len(changes) else None
            started.append((*await start_gateway(settings, change), settings))
        async with aiohttp.ClientSession() as http:
            yield [
                Running(url, sandbox_url, http, settings, app) for _, url, app, settings in started
            ]
    finally:
        for runner, _, _, _ in started:
            await runner.cleanup()
        await sandbox_runner.cleanup()


@asynccontextmanager
async def two_replicas(redis_url: str, transport: str) -> AsyncIterator[tuple[Running, Running]]:
    """Two gateways on one Redis (same key prefix) in front of one sandbox."""

    def same_twice(sandbox_url: str) -> list[Settings]:
        return [gateway_settings(redis_url, sandbox_url, transport)] * 2

    async with gateways(same_twice) as (first, second):
        yield first, second
