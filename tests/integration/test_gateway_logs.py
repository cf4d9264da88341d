"""What the gateway logs: one line per request with its id, never license text or a full key."""

from __future__ import annotations

from structlog.testing import capture_logs

from tests.gwharness import ADMIN_KEY, Running

KEY = "SNGLE-HOST1-DEMO0-00001"
MASKED = "SNGLE-*****-*****-00001"


async def test_logs_carry_request_ids_and_masked_keys_but_no_license_text(
    running: Running,
) -> None:
    with capture_logs() as entries:
        activation = await running.activate(KEY, ["HOSTNAME=logs01"], **{"X-Request-ID": "rq-1"})
        fetched = await running.call("GET", f"/v1/licenses/{KEY}?hostid=HOSTNAME=logs01")
        counters = await running.call("GET", "/v1/admin/lac/counters", key=ADMIN_KEY)
    assert activation.status == 200
    assert fetched.status == 200
    assert counters.status == 200
    content = (await activation.json())["license"]["content"]
    signature = next(line for line in content.splitlines() if line.startswith("KEY="))
    logged = repr(entries)

    requests = [e for e in entries if e["event"] == "http_request"]
    assert len(requests) == 3
    assert requests[0]["request_id"] == "rq-1"
    assert requests[0]["activation_key"] == MASKED
    assert activation.headers["X-Request-ID"] == "rq-1"
    assert KEY not in logged
    assert signature[4:40] not in logged
    assert "FEATURE" not in logged
