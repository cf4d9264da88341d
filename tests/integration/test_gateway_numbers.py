"""Numbers in query strings are ASCII digits: anything else is a 422 problem, never a 500."""

from __future__ import annotations

import pytest

from tests.gwharness import ADMIN_KEY, Running, problem_of

ADMIN_LISTS = ["/v1/admin/jobs", "/v1/admin/audit"]
# Superscript two (isdigit() but not int()), Arabic-Indic one (int() reads it as 1), a sign,
# a space, an underscore group and a number longer than any limit.
NOT_A_LIMIT = ["\u00b2", "\u0661", "+1", " 1", "1_000", "9" * 400]
PENDING_ID = "act_aaaaaaaaaaaaaaaaaaaaaaaaaa"


@pytest.mark.parametrize("path", ADMIN_LISTS)
async def test_admin_limit_that_is_not_ascii_digits_is_422(running: Running, path: str) -> None:
    for raw in NOT_A_LIMIT:
        reply = await running.call("GET", path, key=ADMIN_KEY, params={"limit": raw})
        body = problem_of(reply, 422)
        assert body["errors"][0]["field"] == "limit", raw


@pytest.mark.parametrize("path", ADMIN_LISTS)
async def test_admin_limit_in_ascii_digits_is_taken(running: Running, path: str) -> None:
    reply = await running.call("GET", path, key=ADMIN_KEY, params={"limit": "1"})
    assert reply.status == 200, reply.body


async def test_long_poll_wait_that_is_not_ascii_digits_is_422(running: Running) -> None:
    for raw in [*NOT_A_LIMIT, "1e1", "inf", ".5"]:
        reply = await running.call("GET", f"/v1/activations/{PENDING_ID}", params={"wait": raw})
        body = problem_of(reply, 422)
        assert body["errors"][0]["field"] == "wait", raw
