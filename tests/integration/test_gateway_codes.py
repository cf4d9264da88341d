"""Every LAC return code of the one code table reaches the caller as the table says, both doors."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.codes import Code, CodeClass, LacCode, code_table, lookup, rest_answer
from tests.gwharness import Reply, Running, problem_of, until

BULK = "BENCH-BULKX-DEMO0-00003"
CREATE_OP = {"soap": "CreateLicenseRequest", "rest": "PUT /licenses"}
POLL_OP = {"soap": "GetLicense", "rest": "GET /license-queue"}
NOT_FOUND = 404
# Classes after which the activation still completes: LAC accepted (ok, wait) or was only
# briefly in trouble (retry), which the gateway reconciles by polling and re-submitting.
COMPLETES = frozenset({CodeClass.OK, CodeClass.WAIT, CodeClass.RETRY})


async def activate_with_fault(running: Running, operation: str, row: LacCode) -> Reply:
    """Force ``row.code`` once on ``operation`` and activate a host of its own."""
    transport = running.settings.lac.transport
    await running.fault(
        kind="code", transport=transport, operation=operation, code=row.code, calls=1
    )
    body = {"activation_key": BULK, "hostids": [f"HOSTNAME=code{row.code}"]}
    return await running.call("POST", "/v1/activations", json=body, headers={"Prefer": "wait=5"})


def has_rest_form(row: LacCode) -> bool:
    """Whether REST v2 has a status for the code (else the sandbox answers HTTP 500)."""
    # Without one, the gateway sees LAC in trouble and reconciles the job by polling.
    return row.rest_status is not None


def assert_same_rest_meaning(reported: LacCode, injected: LacCode) -> None:
    """Over REST, only the REST status (and REST code, if any) reach the gateway."""
    (status, rest_code), (sent_status, sent_code) = (
        rest_answer(reported.code),
        rest_answer(injected.code),
    )
    assert status == sent_status, (reported, injected)
    if sent_code is not None:
        assert rest_code == sent_code, (reported, injected)


def check_failure(reply: Reply, row: LacCode, transport: str) -> dict[str, Any]:
    """The caller got the problem the table prescribes for ``row`` (or its REST equivalent)."""
    assert reply.status != 500
    body: dict[str, Any] = problem_of(reply, reply.status)
    reported = lookup(body["lac_code"])
    assert body["lac_name"] == reported.name
    assert reply.status == reported.http
    if transport == "soap":
        assert reported.code == row.code
    else:
        assert_same_rest_meaning(reported, row)
    if reported.klass is CodeClass.RETRY:
        assert int(reply.headers["Retry-After"]) >= 1
    return body


def check_ready(reply: Reply) -> None:
    """The activation completed with a license."""
    assert reply.status == 200, reply.body[:300]
    body = reply.json()
    assert body["state"] == "ready"
    assert "FEATURE" in body["license"]["content"]


def completes(row: LacCode, transport: str) -> bool:
    """Whether an activation whose LAC call was answered ``row`` once still completes."""
    if row.klass in COMPLETES:
        return True
    return transport == "rest" and not has_rest_form(row)


@pytest.mark.slow
async def test_every_code_on_create_reaches_the_caller_as_the_table_says(
    running: Running,
) -> None:
    transport = running.settings.lac.transport
    for row in code_table().values():
        reply = await activate_with_fault(running, CREATE_OP[transport], row)
        if completes(row, transport):
            check_ready(reply)
        else:
            check_failure(reply, row, transport)


def reconciled_on_poll(row: LacCode, transport: str) -> bool:
    """Whether a poll answered ``row`` once still ends with the license."""
    if completes(row, transport):
        return True
    # "Never requested" makes the gateway re-submit, which LAC answers like the first create;
    # over REST the license queue's 404 without a v2 code of another row is read that way.
    if transport == "soap":
        return row.code == Code.LICENSE_GENERATION_WAS_NOT_REQUESTED
    return rest_answer(row.code) == (NOT_FOUND, None)


async def test_every_code_on_poll_reaches_the_caller_or_is_reconciled(running: Running) -> None:
    transport = running.settings.lac.transport
    for row in code_table().values():
        reply = await activate_with_fault(running, POLL_OP[transport], row)
        if reconciled_on_poll(row, transport):
            check_ready(reply)
        else:
            check_failure(reply, row, transport)


@pytest.mark.slow
async def test_transient_code_on_create_is_retried_not_cached(running: Running) -> None:
    transport = running.settings.lac.transport
    transient = [row for row in code_table().values() if row.klass is CodeClass.RETRY]
    assert transient
    for row in transient:
        reply = await activate_with_fault(running, CREATE_OP[transport], row)
        check_ready(reply)
        # The license exists at LAC now: asking again is a cache hit, not a cached failure.
        calls = await running.lac_calls()
        again = await activate_with_fault(running, CREATE_OP[transport], row)
        assert again.status == 200
        assert again.json()["source"] == "cache"
        await running.clear_faults()
        assert await running.lac_calls() == calls


async def test_permanent_rejection_carries_lac_code_name_and_request_id(running: Running) -> None:
    transport = running.settings.lac.transport
    row = lookup(101)
    reply = await activate_with_fault(running, CREATE_OP[transport], row)
    body = check_failure(reply, row, transport)
    assert body["lac_code"] == 101
    assert body["lac_name"] == "LAC_ACTIVATION_KEY_INVALID"
    assert reply.status == 404
    assert "Retry-After" not in reply.headers


async def test_generator_failure_fails_after_a_few_polls_not_at_the_deadline(
    running: Running,
) -> None:
    # GENFL's generator always fails (400, a transient class): the gateway polls a few times,
    # then reports it, instead of keeping the caller pending until the job's deadline.
    reply = await running.activate("GENFL-ORDER-DEMO0-00008", ["HOSTNAME=genfail"])
    assert reply.status == 502, await reply.text()
    problem = await reply.json()
    assert problem["lac_code"] == 400
    assert problem["lac_name"] == "LAC_LICENSE_GENERATOR_FAILED"
    assert int(reply.headers["Retry-After"]) >= 1
    assert await running.creates() == 1


async def test_lasting_transient_code_on_create_never_answers_500(running: Running) -> None:
    transport = running.settings.lac.transport
    await running.fault(kind="code", transport=transport, operation=CREATE_OP[transport], code=102)
    reply = await running.call(
        "POST",
        "/v1/activations",
        json={"activation_key": BULK, "hostids": ["HOSTNAME=lasting"]},
        headers={"Prefer": "wait=1"},
    )
    if transport == "soap":
        # LAC keeps saying 102: after one reconciliation the caller is told to come back later.
        check_failure(reply, lookup(102), transport)
    else:
        # REST renders 102 as HTTP 500, which may have been received: the job keeps polling.
        assert reply.status == 202, reply.body[:300]
        assert reply.json()["state"] == "pending"
        assert int(reply.headers["Retry-After"]) >= 1


async def has_no_rejection(running: Running) -> bool:
    """Whether the gateway holds no cached rejection."""
    return not any(key.endswith(b":negative") for key in await running.state_keys())


async def test_activation_goes_through_once_a_lasting_transient_code_is_over(
    running: Running,
) -> None:
    transport = running.settings.lac.transport
    await running.fault(kind="code", transport=transport, operation=CREATE_OP[transport], code=102)
    request = {"activation_key": BULK, "hostids": ["HOSTNAME=recovers"]}
    during = await running.call(
        "POST", "/v1/activations", json=request, headers={"Prefer": "wait=1"}
    )
    assert during.status in (202, 503), during.body[:300]

    await running.clear_faults()
    # A transient failure is not a rejection to remember for the negative cache's full TTL.
    await until(lambda: has_no_rejection(running), "the transient failure was forgotten")
    after = await running.call(
        "POST", "/v1/activations", json=request, headers={"Prefer": "wait=5"}
    )

    assert after.status == 200, after.body[:300]
    assert after.json()["state"] == "ready"


@pytest.mark.parametrize(
    ("key", "seats", "code"),
    [
        ("SNGLE-HOST1-DEMO0-00001", 1, Code.LICENSE_ACTIVATION_COUNT_EXCEEDED),
        ("BULK5-SEATS-DEMO0-00002", 5, Code.BULK_LICENSE_COUNT_EXCEEDED),
    ],
)
async def test_a_full_order_is_said_so_on_both_doors(
    running: Running, key: str, seats: int, code: int
) -> None:
    """REST names no code for a full order (a bare 403): the order's counts tell it apart."""
    for seat in range(seats):
        body = {"activation_key": key, "hostids": [f"HOSTNAME=seat{seat}"]}
        taken = await running.call(
            "POST", "/v1/activations", json=body, headers={"Prefer": "wait=5"}
        )
        assert taken.status == 200, taken.body
    body = {"activation_key": key, "hostids": ["HOSTNAME=one-too-many"]}
    reply = await running.call("POST", "/v1/activations", json=body, headers={"Prefer": "wait=5"})
    problem = problem_of(reply, 409)
    assert problem["lac_code"] == code
    assert problem["lac_name"] == lookup(code).name
