"""License answers say where the license came from and when the product should ask again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.gwharness import Running

KEY = "BULK5-SEATS-DEMO0-00002"
DAY = 24 * 3600.0


def when(value: str) -> datetime:
    """An RFC 3339 time as the gateway writes it (UTC, whole seconds, ``Z``)."""
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def check_after(body: dict[str, Any], headers: dict[str, str]) -> datetime:
    """The answer's next check time, the same in the body and in the header."""
    assert headers["Next-Check-After"] == body["next_check_after"]
    return when(body["next_check_after"])


async def test_a_license_finished_through_a_pending_job_says_job(running: Running) -> None:
    host = "HOSTNAME=ans01"
    await running.put_order(KEY, generation_delay=0.3)
    pending = await running.activate(KEY, [host], Prefer="respond-async")
    assert pending.status == 202, await pending.text()
    location = pending.headers["Location"]

    finished = await running.call("GET", f"{location}?wait=5")
    assert finished.status == 200, finished.body[:300]
    assert finished.json()["state"] == "ready"
    assert finished.json()["source"] == "job"

    # Read from the cache afterwards by a new activation request: "cache".
    again = await running.activate(KEY, [host])
    assert (await again.json())["source"] == "cache"


async def test_a_caller_that_waited_for_the_job_is_told_job(running: Running) -> None:
    host = "HOSTNAME=ans02"
    await running.put_order(KEY, generation_delay=0.3)
    first = await running.activate(KEY, [host], Prefer="respond-async")
    assert first.status == 202

    joined = await running.activate(KEY, [host], Prefer="wait=5")
    assert joined.status == 200, await joined.text()
    assert (await joined.json())["source"] == "job"


async def test_license_answers_carry_next_check_after_in_body_and_header(
    running: Running,
) -> None:
    host = "HOSTNAME=ans03"
    before = datetime.now(UTC).replace(microsecond=0)
    issued = await running.activate(KEY, [host])
    body = await issued.json()
    assert body["source"] == "lac"
    first = check_after(body, dict(issued.headers))
    # A day from now (LACGW_CACHE__REVALIDATE_AFTER), spread by at most a tenth.
    assert before + timedelta(days=1) <= first
    assert first <= datetime.now(UTC) + timedelta(days=1.1, seconds=1)

    cached = await running.call("GET", f"/v1/licenses/{KEY}?hostid={host}")
    assert cached.json()["source"] == "cache"
    # The same time on every answer about one license: the product is not moved around.
    assert check_after(cached.json(), cached.headers) == first


async def test_a_fleet_is_told_different_times(running: Running) -> None:
    times = set()
    for n in range(4):
        reply = await running.activate(KEY, [f"HOSTNAME=fleet{n}"])
        times.add(check_after(await reply.json(), dict(reply.headers)))
    assert len(times) == 4


async def test_pending_answers_carry_no_next_check(running: Running) -> None:
    await running.put_order(KEY, generation_delay=0.3)
    pending = await running.activate(KEY, ["HOSTNAME=ans05"], Prefer="respond-async")
    assert pending.status == 202
    assert "Next-Check-After" not in pending.headers
    assert (await pending.json()).get("next_check_after") is None


async def test_the_openapi_document_declares_source_job_and_next_check_after(
    running: Running,
) -> None:
    doc = (await running.call("GET", "/openapi.json", key=None)).json()
    schema = doc["components"]["schemas"]["ActivationResponse"]["properties"]
    assert "job" in str(schema["source"])
    assert "date-time" in str(schema["next_check_after"])
    for path in ("/v1/activations", "/v1/licenses/{activation_key}"):
        operation = doc["paths"][path]["post" if path == "/v1/activations" else "get"]
        assert "Next-Check-After" in operation["responses"]["200"]["headers"], path
