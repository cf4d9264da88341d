"""A create whose answer is lost is reconciled by asking LAC; the caller still gets its license."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gwharness import Running

BULK = "BULK5-SEATS-DEMO0-00002"
CREATE_OP = {"soap": "CreateLicenseRequest", "rest": "PUT /licenses"}
LOST_ANSWERS: list[dict[str, Any]] = [
    {"kind": "drop"},
    {"kind": "http_error", "status": 502},
    {"kind": "http_error", "status": 503},
    {"kind": "malformed"},
]


async def sandbox_order(running: Running, key: str) -> dict[str, Any]:
    """The order as the sandbox holds it, licenses and counters included."""
    async with running.http.get(f"{running.sandbox}/_sandbox/orders/{key}") as resp:
        assert resp.status == 200
        order: dict[str, Any] = await resp.json()
        return order


@pytest.mark.parametrize(
    "fault", LOST_ANSWERS, ids=[f["kind"] + str(f.get("status", "")) for f in LOST_ANSWERS]
)
async def test_lost_create_answer_is_reconciled_and_the_caller_gets_the_license(
    running: Running, fault: dict[str, Any]
) -> None:
    transport = running.settings.lac.transport
    await running.fault(**fault, transport=transport, operation=CREATE_OP[transport], calls=1)

    reply = await running.activate(BULK, ["HOSTNAME=lost01"])

    assert reply.status == 200, await reply.text()
    assert (await reply.json())["state"] == "ready"
    order = await sandbox_order(running, BULK)
    assert [lic["hostid"] for lic in order["licenses"]] == ["HOSTNAME=lost01"]
    assert order["activations_total"] == 1
