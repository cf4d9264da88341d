"""Redis refusing commands (out of memory, no permission) is a 503 with Retry-After, never a 500.

The Redis server is the one the whole test session shares: every change made to it here is
undone in a ``finally``, and the refusing user of the route table is the gateway's own.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, MutableMapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from tests.gwharness import (
    ADMIN_KEY,
    FLEET_KEY,
    Reply,
    Running,
    gateway_settings,
    problem_of,
    start_gateway,
    start_sandbox,
    until,
)

KEY = "BENCH-BULKX-DEMO0-00003"
SLOW_KEY = "DELAY-2SECS-DEMO0-00007"
DEACT_KEY = "DEACT-ONCE0-DEMO0-00011"  # an order that allows a deactivation
HOST = "HOSTNAME=refused01"
POLLER_EVENTS = {"poller_failing", "job_handler_failed"}


@contextlib.asynccontextmanager
async def redis_out_of_memory(redis_url: str) -> AsyncIterator[None]:
    """Redis at its memory limit with noeviction: every write refused with OOM, reads served."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    saved = {
        name: str((await client.config_get(name))[name])
        for name in ("maxmemory", "maxmemory-policy")
    }
    try:
        await client.config_set("maxmemory-policy", "noeviction")
        await client.config_set("maxmemory", 1)  # any data set is over one byte
        yield
    finally:
        for name, value in saved.items():
            await client.config_set(name, value)
        await client.aclose()


def errors_logged(entries: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    """Log entries at ERROR or above, or carrying a traceback."""
    return [
        entry
        for entry in entries
        if entry.get("log_level") in {"error", "critical"} or "exc_info" in entry
    ]


def assert_unavailable(reply: Reply, what: str) -> dict[str, Any]:
    """``reply`` is a 503 problem with a positive Retry-After."""
    body = problem_of(reply, 503)
    assert int(reply.headers["Retry-After"]) > 0, what
    return body


async def activate(running: Running, host: str, **headers: str) -> Reply:
    """POST /v1/activations for KEY and ``host``."""
    body = {"activation_key": KEY, "hostids": [host]}
    return await running.call("POST", "/v1/activations", json=body, headers=headers)


async def test_redis_out_of_memory_is_503_and_not_ready_until_writes_pass(
    running: Running, redis_url: str
) -> None:
    with capture_logs() as entries:
        async with redis_out_of_memory(redis_url):
            refused = await activate(running, "HOSTNAME=oom01")
            ready = await running.call("GET", "/readyz", key=None)
            alive = await running.call("GET", "/healthz", key=None)
    assert "memory" in assert_unavailable(refused, "activation")["detail"]
    readiness = assert_unavailable(ready, "readyz")
    assert "refuses writes" in readiness["detail"]
    assert "memory" in readiness["detail"]
    assert alive.status == 200
    assert errors_logged(entries) == []
    warned = [entry for entry in entries if entry["event"] == "redis_unavailable"]
    assert warned, entries
    assert all(entry["log_level"] == "warning" for entry in warned)
    assert {entry.get("redis_code") for entry in warned} == {"OOM"}
    assert KEY not in repr(entries)

    assert (await running.call("GET", "/readyz", key=None)).status == 200
    again = await activate(running, "HOSTNAME=oom01")
    assert again.status == 200, again.body


async def test_poller_warns_and_keeps_running_while_redis_refuses_writes(
    running: Running, redis_url: str
) -> None:
    body = {"activation_key": SLOW_KEY, "hostids": ["HOSTNAME=oom-poller01"]}
    pending = await running.call(
        "POST", "/v1/activations", json=body, headers={"Prefer": "respond-async"}
    )
    assert pending.status == 202, pending.body

    with capture_logs() as entries:
        async with redis_out_of_memory(redis_url):

            async def poller_warned() -> bool:
                return any(entry["event"] in POLLER_EVENTS for entry in entries)

            await until(poller_warned, "the poller meets the refused writes")
    assert errors_logged(entries) == []
    assert all(e["log_level"] == "warning" for e in entries if e["event"] in POLLER_EVENTS)

    done = await running.call("GET", f"{pending.headers['Location']}?wait=30")
    assert done.status == 200, done.body
    assert done.json()["state"] == "ready"


# --- every route, with a Redis that refuses every command -----------------------------------

REFUSING_PASSWORD = uuid.uuid4().hex
# What a connection needs to be set up and health-checked, and nothing that touches data.
CONNECT_ONLY = ["-@all", "+auth", "+hello", "+client", "+ping", "+select"]

# (name, method, path, request keyword arguments): every route that calls the store.
ROUTES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("activate", "POST", "/v1/activations", {"json": {"activation_key": KEY, "hostids": [HOST]}}),
    (
        "activate_idempotent",
        "POST",
        "/v1/activations",
        {
            "json": {"activation_key": KEY, "hostids": ["HOSTNAME=refused02"]},
            "headers": {"Idempotency-Key": "refused-1"},
        },
    ),
    (
        "batch",
        "POST",
        "/v1/activations/batch",
        {"json": {"items": [{"activation_key": KEY, "hostids": ["HOSTNAME=refused03"]}]}},
    ),
    ("status", "GET", "/v1/activations/{aid}", {}),
    ("status_long_poll", "GET", "/v1/activations/{aid}?wait=5", {}),
    ("license", "GET", f"/v1/licenses/{DEACT_KEY}", {"params": {"hostid": HOST}}),
    ("deactivate", "DELETE", f"/v1/licenses/{DEACT_KEY}", {"params": {"hostid": HOST}}),
    ("order", "GET", f"/v1/orders/{KEY}", {}),
    ("admin_jobs", "GET", "/v1/admin/jobs", {"key": ADMIN_KEY}),
    ("admin_audit", "GET", "/v1/admin/audit", {"key": ADMIN_KEY}),
    (
        "admin_purge",
        "DELETE",
        f"/v1/admin/cache/{KEY}",
        {"key": ADMIN_KEY, "params": {"hostid": HOST}},
    ),
    (
        "admin_purge_post",
        "POST",
        f"/v1/admin/cache/{KEY}",
        {"key": ADMIN_KEY, "params": {"hostid": HOST}},
    ),
    ("admin_counters", "GET", "/v1/admin/lac/counters", {"key": ADMIN_KEY}),  # token cache
    ("readyz", "GET", "/readyz", {"key": None}),
]


def as_user(redis_url: str, user: str, password: str) -> str:
    """``redis_url`` logging in as ``user``."""
    parts = urlsplit(redis_url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
async def refusing(redis_url: str) -> AsyncIterator[tuple[Running, aioredis.Redis, str]]:
    """A gateway logged in to the session Redis as a user of its own (removed afterwards)."""
    admin = aioredis.Redis.from_url(redis_url)
    user = f"gw-refused-{uuid.uuid4().hex[:8]}"
    await admin.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{REFUSING_PASSWORD}"],
        keys=["*"],
        channels=["*"],
        commands=["+@all"],
    )
    sandbox_runner, sandbox_url = await start_sandbox()
    url = as_user(redis_url, user, REFUSING_PASSWORD)
    settings = gateway_settings(url, sandbox_url, "soap")
    runner, gateway_url, app = await start_gateway(settings)
    try:
        async with aiohttp.ClientSession() as http:
            yield Running(gateway_url, sandbox_url, http, settings, app), admin, user
    finally:
        await runner.cleanup()
        await sandbox_runner.cleanup()
        await admin.acl_deluser(user)
        await admin.aclose()


async def test_every_route_answers_503_while_redis_refuses_every_command(
    refusing: tuple[Running, aioredis.Redis, str],
) -> None:
    running, admin, user = refusing
    body = {"activation_key": DEACT_KEY, "hostids": [HOST]}
    issued = await running.call("POST", "/v1/activations", json=body)
    assert issued.status == 200, issued.body
    aid = issued.json()["id"]

    with capture_logs() as entries:
        await admin.acl_setuser(user, enabled=True, commands=CONNECT_ONLY)
        try:
            for name, method, path, kwargs in ROUTES:
                options = {"key": FLEET_KEY, **kwargs}
                reply = await running.call(method, path.format(aid=aid), **options)
                assert_unavailable(reply, name)
        finally:
            await admin.acl_setuser(user, enabled=True, commands=["+@all"])
    assert errors_logged(entries) == []
    assert any(entry["event"] == "redis_unavailable" for entry in entries)

    assert (await running.call("GET", "/readyz", key=None)).status == 200
    again = await activate(running, "HOSTNAME=refused04")
    assert again.status == 200, again.body
