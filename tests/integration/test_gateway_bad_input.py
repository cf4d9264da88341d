"""Bad input is refused with a 4xx problem before LAC is called, and nothing reaches Redis."""

from __future__ import annotations

from typing import Any

from tests.gwharness import Running, problem_of

KEY = "SNGLE-HOST1-DEMO0-00001"
GOOD = {"activation_key": KEY, "hostids": ["HOSTNAME=build01"]}
JSON_HEADERS = {"Content-Type": "application/json"}

# (name, method, path, request keyword arguments, expected status)
CASES: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("malformed_json", "POST", "/v1/activations", {"data": b'{"activation_key": '}, 400),
    ("empty_body", "POST", "/v1/activations", {"data": b""}, 400),
    ("json_array", "POST", "/v1/activations", {"json": [GOOD]}, 400),
    ("key_not_a_string", "POST", "/v1/activations", {"json": {**GOOD, "activation_key": 123}}, 422),
    ("hostids_not_a_list", "POST", "/v1/activations", {"json": {**GOOD, "hostids": 5}}, 422),
    (
        "hostid_object_wrong_type",
        "POST",
        "/v1/activations",
        {"json": {**GOOD, "hostids": [{"type": 1, "value": "x"}]}},
        422,
    ),
    ("unknown_field", "POST", "/v1/activations", {"json": {**GOOD, "priority": "high"}}, 422),
    ("missing_field", "POST", "/v1/activations", {"json": {"activation_key": KEY}}, 422),
    ("no_hostids", "POST", "/v1/activations", {"json": {**GOOD, "hostids": []}}, 422),
    (
        "oversize_body",
        "POST",
        "/v1/activations",
        {"json": {**GOOD, "hostids": ["HOSTNAME=" + "a" * 100_000]}},
        413,
    ),
    (
        "hostid_bad_characters",
        "POST",
        "/v1/activations",
        {"json": {**GOOD, "hostids": ["HOSTNAME=build 01!"]}},
        422,
    ),
    (
        "hostid_unknown_type",
        "POST",
        "/v1/activations",
        {"json": {**GOOD, "hostids": ["TOASTER=01"]}},
        422,
    ),
    (
        "hostid_no_equals",
        "POST",
        "/v1/activations",
        {"json": {**GOOD, "hostids": ["build01"]}},
        422,
    ),
    (
        "ethernet_too_short",
        "POST",
        "/v1/activations",
        {"json": {**GOOD, "hostids": ["ETHERNET=AABBCC"]}},
        422,
    ),
    (
        "activation_key_bad_shape",
        "POST",
        "/v1/activations",
        {"json": {**GOOD, "activation_key": "NOT-A-KEY"}},
        422,
    ),
    (
        "activation_key_bad_characters",
        "POST",
        "/v1/activations",
        {"json": {**GOOD, "activation_key": "SNGLE-HOST1-DEMO0-0000!"}},
        422,
    ),
    ("batch_items_not_a_list", "POST", "/v1/activations/batch", {"json": {"items": "x"}}, 422),
    (
        "batch_item_bad_key",
        "POST",
        "/v1/activations/batch",
        {"json": {"items": [{**GOOD, "activation_key": 7}]}},
        422,
    ),
    (
        "removal_confirm_bad_hostid",
        "POST",
        f"/v1/licenses/{KEY}/removal/confirm",
        {"json": {"hostids": ["HOSTNAME="]}},
        422,
    ),
    ("license_without_hostid", "GET", f"/v1/licenses/{KEY}", {}, 422),
    ("license_bad_hostid", "GET", f"/v1/licenses/{KEY}?hostid=NOPE", {}, 422),
    ("license_bad_key", "GET", "/v1/licenses/nope?hostid=HOSTNAME=a", {}, 422),
    ("deactivate_bad_hostid", "DELETE", f"/v1/licenses/{KEY}?hostid=HOSTNAME=a%20b", {}, 422),
    ("order_bad_key", "GET", "/v1/orders/short", {}, 422),
    ("activation_id_malformed", "GET", "/v1/activations/not-an-id", {}, 404),
    (
        "activation_wait_negative",
        "GET",
        "/v1/activations/act_aaaaaaaaaaaaaaaaaaaaaaaaaa?wait=-1",
        {},
        422,
    ),
    ("unknown_route", "GET", "/v1/nothing-here", {}, 404),
    ("unknown_route_outside_v1", "GET", "/nothing-here", {}, 404),
    ("wrong_method", "PUT", "/v1/activations", {"json": GOOD}, 405),
    ("wrong_method_on_license", "PATCH", f"/v1/licenses/{KEY}?hostid=HOSTNAME=a", {}, 405),
]


async def test_bad_requests_are_refused_before_lac_and_write_nothing(running: Running) -> None:
    keys_before = await running.state_keys()
    calls_before = await running.counters()
    for name, method, path, kwargs, status in CASES:
        reply = await running.call(method, path, **kwargs)
        assert reply.status == status, (name, reply.status, reply.body[:300])
        body = problem_of(reply, status)
        assert "lac_code" not in body, name
        assert body["detail"], name
        # Checked after every case, so a write or a LAC call is pinned on the request that did it.
        assert await running.state_keys() == keys_before, name
        assert await running.counters() == calls_before, name


async def test_invalid_field_is_named_in_errors(running: Running) -> None:
    reply = await running.call(
        "POST", "/v1/activations", json={**GOOD, "hostids": ["ETHERNET=XYZ"]}
    )
    body = problem_of(reply, 422)
    fields = [error["field"] for error in body["errors"]]
    assert any(field.startswith("hostids") for field in fields), body


async def test_unknown_route_and_wrong_method_need_no_key_to_be_refused_without_500(
    running: Running,
) -> None:
    reply = await running.call("DELETE", "/openapi.json", key=None)
    problem_of(reply, 405)
    assert "GET" in reply.headers["Allow"]
