"""The gateway shuts down cleanly, even when stopped while it is still connecting to Redis."""

from __future__ import annotations

import asyncio

import pytest

from tests.gwharness import gateway_settings, start_gateway

# Nothing listens there: the gateway never gets as far as calling LAC in this test.
NO_LAC = "http://127.0.0.1:9"
HANG_GUARD_SECONDS = 20.0


@pytest.mark.parametrize("transport", ["soap", "rest"])
async def test_gateway_stopped_right_after_start_shuts_down(redis_url: str, transport: str) -> None:
    for _ in range(3):
        runner, _, _ = await start_gateway(gateway_settings(redis_url, NO_LAC, transport))
        # Stopping at once cancels the outcome listener while its pub/sub connection is being
        # set up, where a single cancellation used to be lost and shutdown hung for good.
        cleanup = asyncio.create_task(runner.cleanup())
        done, _ = await asyncio.wait([cleanup], timeout=HANG_GUARD_SECONDS)
        assert cleanup in done, "gateway shutdown hung"
        cleanup.result()
