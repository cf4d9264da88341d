"""Long-polling GET /v1/activations/{id}: the answer comes when the job completes."""

from __future__ import annotations

from gateway.hostids import Target
from tests.gwharness import Running, problem_of

SLOW = "DELAY-2SECS-DEMO0-00007"


async def start_pending(running: Running, host: str) -> str:
    """Activate without waiting; returns the activation's Location."""
    reply = await running.activate(SLOW, [host], Prefer="respond-async")
    assert reply.status == 202, await reply.text()
    location: str = reply.headers["Location"]
    return location


async def test_long_poll_returns_the_license_once_the_job_completes(running: Running) -> None:
    await running.put_order(SLOW, generation_delay=0.3)
    location = await start_pending(running, "HOSTNAME=lp01")

    # The wait is far longer than the generation: only the outcome can end this request early,
    # and the pytest timeout would catch a long-poll that never wakes.
    reply = await running.call("GET", f"{location}?wait=60")

    assert reply.status == 200
    body = reply.json()
    assert body["state"] == "ready"
    assert "FEATURE" in body["license"]["content"]
    assert location.endswith(body["id"])
    assert await running.creates() == 1


async def test_long_poll_on_a_generation_still_running_answers_pending(running: Running) -> None:
    await running.put_order(SLOW, generation_delay=60)
    location = await start_pending(running, "HOSTNAME=lp02")

    reply = await running.call("GET", f"{location}?wait=0.2")

    assert reply.status == 200
    assert reply.json()["state"] == "pending"
    assert int(reply.headers["Retry-After"]) >= 1


async def test_status_without_wait_answers_at_once(running: Running) -> None:
    await running.put_order(SLOW, generation_delay=60)
    location = await start_pending(running, "HOSTNAME=lp03")
    reply = await running.call("GET", location)
    assert reply.status == 200
    assert reply.json()["state"] == "pending"


async def test_unknown_activation_id_is_404(running: Running) -> None:
    reply = await running.call("GET", "/v1/activations/act_aaaaaaaaaaaaaaaaaaaaaaaaaa?wait=5")
    problem_of(reply, 404)
    assert await running.lac_calls() == 0


async def test_failed_activation_answers_its_problem_on_the_status_route(
    running: Running,
) -> None:
    key, host = "DSBLD-ORDER-DEMO0-00004", "HOSTNAME=lp04"
    refused = await running.activate(key, [host])
    assert refused.status == 403
    aid = Target(key, [host]).aid

    reply = await running.call("GET", f"/v1/activations/{aid}?wait=5")

    problem = problem_of(reply, 403)
    assert problem["lac_code"] == 202
    assert problem["lac_name"] == "LAC_LICENSE_ORDER_DISABLED"
    assert await running.creates() == 1
