"""Idempotency-Key on POST /v1/activations and DELETE /v1/licenses, end to end over both doors."""

from __future__ import annotations

import asyncio

from tests.gwharness import ADMIN_KEY, FLEET_KEY, Running, problem_of, until

BULK = "BULK5-SEATS-DEMO0-00002"
SLOW = "DELAY-2SECS-DEMO0-00007"
DEACT = "DEACT-ONCE0-DEMO0-00011"


def body(key: str, host: str) -> dict[str, object]:
    """An activation request."""
    return {"activation_key": key, "hostids": [host]}


async def has_created(running: Running) -> bool:
    """Whether LAC received a create."""
    return await running.creates() > 0


def idem(key: str, **extra: str) -> dict[str, str]:
    """Headers carrying an Idempotency-Key."""
    return {"Idempotency-Key": key, **extra}


async def test_same_key_and_body_replays_the_stored_answer_without_lac(running: Running) -> None:
    await running.put_order(SLOW, generation_delay=30)
    headers = idem("k-replay", Prefer="respond-async")
    first = await running.call(
        "POST", "/v1/activations", json=body(SLOW, "HOSTNAME=i1"), headers=headers
    )
    assert first.status == 202, first.body[:300]
    calls = await running.lac_calls()

    again = await running.call(
        "POST", "/v1/activations", json=body(SLOW, "HOSTNAME=i1"), headers=headers
    )

    assert again.status == 202
    assert again.body == first.body
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await running.lac_calls() == calls
    assert await running.creates() == 1


async def test_same_key_with_another_body_is_422(running: Running) -> None:
    first = await running.call(
        "POST", "/v1/activations", json=body(BULK, "HOSTNAME=i2"), headers=idem("k-mismatch")
    )
    assert first.status == 200
    calls = await running.lac_calls()

    other = await running.call(
        "POST", "/v1/activations", json=body(BULK, "HOSTNAME=i3"), headers=idem("k-mismatch")
    )

    problem = problem_of(other, 422)
    assert problem["type"].endswith("idempotency-key-mismatch")
    assert await running.lac_calls() == calls


async def test_same_key_while_the_first_is_in_progress_is_409(running: Running) -> None:
    await running.put_order(SLOW, generation_delay=1.0)
    request = body(SLOW, "HOSTNAME=i4")
    first = asyncio.create_task(
        running.call("POST", "/v1/activations", json=request, headers=idem("k-busy"))
    )
    # The first request holds the key once it has reached LAC.
    await until(lambda: has_created(running), "the first request reached LAC")

    second = await running.call("POST", "/v1/activations", json=request, headers=idem("k-busy"))

    problem = problem_of(second, 409)
    assert problem["type"].endswith("idempotency-key-in-progress")
    assert int(second.headers["Retry-After"]) >= 1
    done = await first
    assert done.status == 200
    assert await running.creates() == 1


async def test_keys_are_scoped_per_api_key(running: Running) -> None:
    fleet = await running.call(
        "POST",
        "/v1/activations",
        json=body(BULK, "HOSTNAME=i5"),
        headers=idem("k-shared"),
        key=FLEET_KEY,
    )
    assert fleet.status == 200
    # The same key under another API key is another record: a different body is fine there.
    ops = await running.call(
        "POST",
        "/v1/activations",
        json=body(BULK, "HOSTNAME=i6"),
        headers=idem("k-shared"),
        key=ADMIN_KEY,
    )
    assert ops.status == 200
    assert "Idempotent-Replayed" not in ops.headers
    assert ops.json()["id"] != fleet.json()["id"]
    assert await running.creates() == 2


async def test_repeated_deactivate_with_the_same_key_deactivates_once(running: Running) -> None:
    await running.put_order(DEACT, deactivations_allowed=5)
    host = "HOSTNAME=i7"
    assert (await running.call("POST", "/v1/activations", json=body(DEACT, host))).status == 200
    path = f"/v1/licenses/{DEACT}?hostid={host}"
    op = "DeactivateLicense" if running.settings.lac.transport == "soap" else "DELETE /licenses"
    transport = running.settings.lac.transport

    first = await running.call("DELETE", path, headers=idem("k-deact"))
    again = await running.call("DELETE", path, headers=idem("k-deact"))

    assert first.status == 204
    assert again.status == 204
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await running.count(transport, op) == 1


async def test_failed_request_releases_its_key(running: Running) -> None:
    # A refusal is not stored: once the cause is fixed the same key goes through.
    await running.put_order(BULK, enabled=False)
    refused = await running.call(
        "POST", "/v1/activations", json=body(BULK, "HOSTNAME=i8"), headers=idem("k-retry")
    )
    problem_of(refused, 403)
    await running.put_order(BULK, enabled=True)
    await running.call("DELETE", f"/v1/admin/cache/{BULK}?hostid=HOSTNAME=i8", key=ADMIN_KEY)
    accepted = await running.call(
        "POST", "/v1/activations", json=body(BULK, "HOSTNAME=i8"), headers=idem("k-retry")
    )
    assert accepted.status == 200, accepted.body[:300]
    assert "Idempotent-Replayed" not in accepted.headers
