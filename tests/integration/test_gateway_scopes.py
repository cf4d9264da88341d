"""API-key scopes: each route needs its scope; only the activating key or an admin deactivates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from gateway.api.keys import REDIS
from gateway.hostids import activation_id, normalise_hostids
from tests.gwharness import (
    Reply,
    Running,
    gateway_settings,
    problem_of,
    sha256,
    start_gateway,
    start_sandbox,
)

KEY_A = "product-a-key-0123456789"
KEY_B = "product-b-key-0123456789"
FLEET = "fleet-default-key-0123456789"  # configured without scopes: the default applies
ACTIVATE_ONLY = "activate-only-key-0123456789"
READ_ONLY = "read-only-key-0123456789"
DEACTIVATE_ONLY = "deactivate-only-key-0123456789"
LEGACY_ADMIN = "legacy-admin-key-0123456789"  # "admin": true, no scopes
ADMIN_SCOPE = "admin-scope-key-0123456789"  # "scopes": ["admin"]
BACK_OFFICE = "back-office-key-0123456789"  # may deactivate any pair
OWNERS = ["activate", "read", "deactivate"]
KEYS: list[dict[str, Any]] = [
    {"name": "product-a", "sha256": sha256(KEY_A), "scopes": OWNERS},
    {"name": "product-b", "sha256": sha256(KEY_B), "scopes": OWNERS},
    {"name": "fleet", "sha256": sha256(FLEET)},
    {"name": "activator", "sha256": sha256(ACTIVATE_ONLY), "scopes": ["activate"]},
    {"name": "reader", "sha256": sha256(READ_ONLY), "scopes": ["read"]},
    {"name": "deactivator", "sha256": sha256(DEACTIVATE_ONLY), "scopes": ["deactivate"]},
    {"name": "ops", "sha256": sha256(LEGACY_ADMIN), "admin": True},
    {"name": "ops-scoped", "sha256": sha256(ADMIN_SCOPE), "scopes": ["admin"]},
    {"name": "back-office", "sha256": sha256(BACK_OFFICE), "scopes": ["read", "deactivate_any"]},
]
ORDER = "SCOPE-DEACT-DEMO0-00020"
REMOVAL = "SCOPE-RMVAL-DEMO0-00021"
SINGLE = "SNGLE-HOST1-DEMO0-00001"


@pytest.fixture
async def scoped(redis_url: str) -> AsyncIterator[Running]:
    """A sandbox and a gateway whose API keys carry the scopes above (SOAP transport)."""
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(redis_url, sandbox_url, "soap", auth={"api_keys": KEYS})
    gw_runner, gw_url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        running = Running(gw_url, sandbox_url, http, settings, app)
        try:
            await running.put_order(ORDER, bulk_max=20, deactivations_allowed=20)
            await running.put_order(REMOVAL, bulk_max=20, removal=True, deactivations_allowed=20)
            yield running
        finally:
            await gw_runner.cleanup()
            await sandbox_runner.cleanup()


async def activate(running: Running, api_key: str, activation_key: str, host: str) -> None:
    """Activate ``host`` under ``activation_key`` with ``api_key``; the license must be ready."""
    body = {"activation_key": activation_key, "hostids": [host]}
    reply = await running.call("POST", "/v1/activations", key=api_key, json=body)
    assert reply.status == 200, reply.body[:300]


async def deactivate(running: Running, api_key: str, activation_key: str, host: str) -> Reply:
    """DELETE the license of ``host``."""
    path = f"/v1/licenses/{activation_key}"
    return await running.call("DELETE", path, key=api_key, params={"hostid": host})


async def confirm(running: Running, api_key: str, activation_key: str, host: str) -> Reply:
    """POST the removal confirmation of ``host``."""
    path = f"/v1/licenses/{activation_key}/removal/confirm"
    return await running.call("POST", path, key=api_key, json={"hostids": [host]})


async def audit(running: Running) -> list[dict[str, Any]]:
    """The audit trail, newest first."""
    reply = await running.call("GET", "/v1/admin/audit", key=LEGACY_ADMIN)
    assert reply.status == 200, reply.body
    events: list[dict[str, Any]] = reply.json()["events"]
    return events


def refusals(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(action, caller) of each refused event, newest first."""
    return [(e["action"], e["caller"]) for e in events if e["outcome"] == "refused"]


async def test_a_key_without_deactivate_is_refused_and_lac_is_not_called(
    scoped: Running,
) -> None:
    host = "HOSTNAME=noscope01"
    await activate(scoped, FLEET, ORDER, host)
    await activate(scoped, FLEET, REMOVAL, host)
    calls = await scoped.lac_calls()
    for api_key in (FLEET, READ_ONLY, ACTIVATE_ONLY):
        problem = problem_of(await deactivate(scoped, api_key, ORDER, host), 403)
        assert "deactivate" in problem["detail"]
        problem_of(await confirm(scoped, api_key, REMOVAL, host), 403)
    assert await scoped.lac_calls() == calls
    assert refusals(await audit(scoped)) == [
        ("removal", "activator"),
        ("deactivation", "activator"),
        ("removal", "reader"),
        ("deactivation", "reader"),
        ("removal", "fleet"),
        ("deactivation", "fleet"),
    ]


async def test_only_the_activating_key_deactivates_its_license(scoped: Running) -> None:
    host = "HOSTNAME=owner01"
    await activate(scoped, KEY_A, ORDER, host)
    calls = await scoped.lac_calls()
    refused = problem_of(await deactivate(scoped, KEY_B, ORDER, host), 403)
    assert refused["type"].endswith("/not-activator")
    refused_pending = problem_of(await deactivate(scoped, DEACTIVATE_ONLY, ORDER, host), 403)
    assert refused_pending["type"].endswith("/not-activator")
    assert await scoped.lac_calls() == calls

    assert (await deactivate(scoped, KEY_A, ORDER, host)).status == 204
    events = await audit(scoped)
    assert refusals(events) == [("deactivation", "deactivator"), ("deactivation", "product-b")]
    assert (events[0]["action"], events[0]["outcome"], events[0]["caller"]) == (
        "deactivation",
        "deactivated",
        "product-a",
    )
    refused_event = next(e for e in events if e["outcome"] == "refused")
    assert refused_event["key"] == "SCOPE-*****-*****-00020"
    assert refused_event["host"] == events[0]["host"]


async def test_admins_and_a_back_office_key_deactivate_any_license(scoped: Running) -> None:
    for n, api_key in enumerate((LEGACY_ADMIN, ADMIN_SCOPE, BACK_OFFICE)):
        host = f"HOSTNAME=admin0{n}"
        await activate(scoped, KEY_A, ORDER, host)
        reply = await deactivate(scoped, api_key, ORDER, host)
        assert reply.status == 204, (api_key, reply.body[:300])
    assert refusals(await audit(scoped)) == []


async def test_removal_confirmation_follows_the_same_rule(scoped: Running) -> None:
    host, other = "HOSTNAME=rmowner01", "HOSTNAME=rmowner02"
    await activate(scoped, KEY_A, REMOVAL, host)
    await activate(scoped, KEY_A, REMOVAL, other)
    calls = await scoped.lac_calls()
    problem = problem_of(await confirm(scoped, KEY_B, REMOVAL, host), 403)
    assert problem["type"].endswith("/not-activator")
    assert await scoped.lac_calls() == calls
    assert (await confirm(scoped, KEY_A, REMOVAL, host)).status == 204
    # The sandbox clears the order's removal request on a confirmation: ask again.
    for requested in (False, True):
        await scoped.put_order(REMOVAL, bulk_max=20, removal=requested, deactivations_allowed=20)
    assert (await confirm(scoped, LEGACY_ADMIN, REMOVAL, other)).status == 204
    assert refusals(await audit(scoped)) == [("removal", "product-b")]


async def test_reading_or_finding_a_license_does_not_make_a_key_its_activator(
    scoped: Running,
) -> None:
    host = "HOSTNAME=reader01"
    await activate(scoped, KEY_A, ORDER, host)
    # B finds the license in the cache, then fetches it from LAC after a purge.
    await activate(scoped, KEY_B, ORDER, host)
    purge = f"/v1/admin/cache/{ORDER}"
    assert (await scoped.call("POST", purge, key=LEGACY_ADMIN, params={"hostid": host})).status
    fetched = await scoped.call("GET", f"/v1/licenses/{ORDER}", key=KEY_B, params={"hostid": host})
    assert fetched.json()["source"] == "lac"
    problem_of(await deactivate(scoped, KEY_B, ORDER, host), 403)
    # The record outlives the purged cache entry: A still may.
    assert (await deactivate(scoped, KEY_A, ORDER, host)).status == 204


async def test_a_pending_activation_belongs_to_the_key_that_requested_it(
    scoped: Running,
) -> None:
    delayed, host = "DELAY-2SECS-DEMO0-00007", "HOSTNAME=pending01"
    body = {"activation_key": delayed, "hostids": [host]}
    pending = await scoped.call(
        "POST", "/v1/activations", key=KEY_A, json=body, headers={"Prefer": "respond-async"}
    )
    assert pending.status == 202
    problem = problem_of(await deactivate(scoped, KEY_B, delayed, host), 403)
    assert problem["type"].endswith("/not-activator")
    assert (await deactivate(scoped, KEY_A, delayed, host)).status != 403


async def test_the_activator_is_kept_until_the_license_expires(scoped: Running) -> None:
    host = "HOSTNAME=ttl01"
    await activate(scoped, KEY_A, SINGLE, host)
    redis = scoped.app[REDIS]
    aid = activation_id(SINGLE, normalise_hostids([host]))
    prefix = scoped.settings.redis.key_prefix
    activator_ttl = await redis.pttl(f"{prefix}:{{{aid}}}:activator")
    license_ttl = await redis.pttl(f"{prefix}:{{{aid}}}:license")
    # The order's feature ends 2027-12-31: far beyond the cache entry's 7 + 3 days.
    assert activator_ttl > license_ttl > 0


async def test_a_pair_without_a_recorded_activator_needs_an_admin(scoped: Running) -> None:
    host = "HOSTNAME=legacy01"
    await activate(scoped, KEY_A, ORDER, host)
    # As data written before activators were recorded: the pair has none.
    aid = activation_id(ORDER, normalise_hostids([host]))
    prefix = scoped.settings.redis.key_prefix
    assert await scoped.app[REDIS].delete(f"{prefix}:{{{aid}}}:activator") == 1
    problem_of(await deactivate(scoped, KEY_A, ORDER, host), 403)
    assert (await deactivate(scoped, BACK_OFFICE, ORDER, host)).status == 204


AID = "act_aaaaaaaaaaaaaaaaaaaaaaaaaa"
# (method, path, body, the scope the route needs)
ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("POST", "/v1/activations", {"activation_key": SINGLE, "hostids": ["HOSTNAME=r1"]}, "activate"),
    (
        "POST",
        "/v1/activations/batch",
        {"items": [{"activation_key": SINGLE, "hostids": ["HOSTNAME=r1"]}]},
        "activate",
    ),
    ("GET", f"/v1/activations/{AID}", None, "read"),
    ("GET", f"/v1/licenses/{SINGLE}?hostid=HOSTNAME=r1", None, "read"),
    ("HEAD", f"/v1/licenses/{SINGLE}?hostid=HOSTNAME=r1", None, "read"),
    ("GET", f"/v1/licenses/{SINGLE}/removal?hostid=HOSTNAME=r1", None, "read"),
    ("GET", f"/v1/orders/{SINGLE}", None, "read"),
    ("DELETE", f"/v1/licenses/{SINGLE}?hostid=HOSTNAME=r1", None, "deactivate"),
    ("POST", f"/v1/licenses/{SINGLE}/removal/confirm", {"hostids": ["HOSTNAME=r1"]}, "deactivate"),
    ("GET", "/v1/admin/jobs", None, "admin"),
    ("POST", f"/v1/admin/cache/{SINGLE}?hostid=HOSTNAME=r1", None, "admin"),
    ("DELETE", f"/v1/admin/cache/{SINGLE}?hostid=HOSTNAME=r1", None, "admin"),
    ("GET", "/v1/admin/audit", None, "admin"),
    ("GET", "/v1/admin/lac/counters", None, "admin"),
]
SINGLE_SCOPE = {
    "activate": ACTIVATE_ONLY,
    "read": READ_ONLY,
    "deactivate": DEACTIVATE_ONLY,
    "admin": ADMIN_SCOPE,
}


@pytest.mark.parametrize(("method", "path", "body", "needed"), ROUTES)
async def test_each_route_needs_its_scope(
    scoped: Running, method: str, path: str, body: dict[str, Any] | None, needed: str
) -> None:
    for scope, api_key in SINGLE_SCOPE.items():
        reply = await scoped.call(method, path, key=api_key, json=body)
        if scope in (needed, "admin"):
            refused_for_scope = reply.status == 403 and b"/not-activator" not in reply.body
            assert not refused_for_scope, (scope, reply.status, reply.body[:300])
        elif method == "HEAD":
            assert reply.status == 403, scope
        else:
            problem = problem_of(reply, 403)
            assert problem["type"].endswith("/missing-scope"), problem
            assert needed in problem["detail"]


async def test_the_openapi_document_declares_403_where_a_scope_is_needed(
    scoped: Running,
) -> None:
    document = (await scoped.call("GET", "/openapi.json", key=None)).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = "403" in operation["responses"]
            assert declared == path.startswith("/v1/"), (method, path)


async def test_a_refusal_is_still_403_when_the_audit_write_fails(scoped: Running) -> None:
    host = "HOSTNAME=noaudit01"
    await activate(scoped, KEY_A, ORDER, host)
    # A string where the audit stream should be: every XADD now fails with WRONGTYPE.
    await scoped.app[REDIS].set(f"{scoped.settings.redis.key_prefix}:{{audit}}:events", "x")
    problem_of(await deactivate(scoped, KEY_B, ORDER, host), 403)
    problem_of(await deactivate(scoped, FLEET, ORDER, host), 403)
    problem_of(await confirm(scoped, READ_ONLY, ORDER, host), 403)
