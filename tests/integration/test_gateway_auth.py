"""API-key authentication: 401 with a challenge without a known key, 403 for admin routes."""

from __future__ import annotations

import pytest

from tests.gwharness import ADMIN_KEY, FLEET_KEY, Running, problem_of

ACTIVATE = ("POST", "/v1/activations")
PROTECTED = [
    ACTIVATE,
    ("GET", "/v1/activations/act_aaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ("GET", "/v1/orders/SNGLE-HOST1-DEMO0-00001"),
    ("GET", "/v1/admin/jobs"),
    ("GET", "/v1/admin/lac/counters"),
]
BODY = {"activation_key": "SNGLE-HOST1-DEMO0-00001", "hostids": ["HOSTNAME=auth01"]}


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key", "Basic Zm9vOmJhcg==", ""])
async def test_missing_or_unknown_key_is_401_with_a_bearer_challenge(
    running: Running, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in PROTECTED:
        reply = await running.call(method, path, key=None, headers=headers, json=BODY)
        problem_of(reply, 401)
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert await running.lac_calls() == 0


async def test_fleet_key_on_admin_routes_is_403(running: Running) -> None:
    for path in ("/v1/admin/jobs", "/v1/admin/lac/counters"):
        reply = await running.call("GET", path, key=FLEET_KEY)
        problem_of(reply, 403)
    purge = await running.call(
        "POST", "/v1/admin/cache/SNGLE-HOST1-DEMO0-00001?hostid=HOSTNAME=a", key=FLEET_KEY
    )
    problem_of(purge, 403)
    assert await running.lac_calls() == 0


async def test_admin_key_reaches_admin_routes(running: Running) -> None:
    jobs = await running.call("GET", "/v1/admin/jobs", key=ADMIN_KEY)
    assert jobs.status == 200
    assert jobs.json() == {"total": 0, "jobs": []}
    counters = await running.call("GET", "/v1/admin/lac/counters", key=ADMIN_KEY)
    assert counters.status == 200
    assert counters.json()


async def test_fleet_key_activates(running: Running) -> None:
    reply = await running.call(*ACTIVATE, key=FLEET_KEY, json=BODY)
    assert reply.status == 200
    assert reply.json()["state"] == "ready"


async def test_operations_routes_need_no_key(running: Running) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json"):
        reply = await running.call("GET", path, key=None)
        assert reply.status == 200, path
