"""The vendor login token behind the admin routes: one Login, refreshed once on expiry."""

from __future__ import annotations

import asyncio

from tests.gwharness import ADMIN_KEY, Running

COUNTERS = "/v1/admin/lac/counters"


async def test_expired_token_is_refreshed_with_one_login_and_the_call_replayed(
    running: Running,
) -> None:
    first = await running.call("GET", COUNTERS, key=ADMIN_KEY)
    assert first.status == 200, first.body[:300]
    assert await running.logins() == 1
    calls_before = await running.count("soap", "GetActivationCounters")

    await running.expire_tokens()
    again = await running.call("GET", COUNTERS, key=ADMIN_KEY)

    # The caller sees nothing of the expiry: the same answer, after exactly one more Login.
    assert again.status == 200, again.body[:300]
    assert again.json() == first.json()
    assert await running.logins() == 2
    # The refused call and its replay.
    assert await running.count("soap", "GetActivationCounters") == calls_before + 2


async def test_cached_token_serves_further_admin_calls_without_login(running: Running) -> None:
    for _ in range(3):
        reply = await running.call("GET", COUNTERS, key=ADMIN_KEY)
        assert reply.status == 200
    assert await running.logins() == 1


async def test_concurrent_admin_calls_without_token_log_in_once(running: Running) -> None:
    assert await running.logins() == 0
    replies = await asyncio.gather(
        *(running.call("GET", COUNTERS, key=ADMIN_KEY) for _ in range(50))
    )
    assert {reply.status for reply in replies} == {200}
    assert len({reply.body for reply in replies}) == 1
    assert await running.logins() == 1
