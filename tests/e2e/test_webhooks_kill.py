"""A gateway SIGKILLed between a license being issued and its webhook delivers it after restart."""

from __future__ import annotations

import json

import aiohttp
import pytest

from lacsandbox.localredis import free_port
from tests.e2e.procs import GatewayFactory
from tests.gwharness import FLEET_KEY, until
from tests.webhook_receiver import SECRET, Receiver

pytestmark = pytest.mark.e2e  # separate processes: `make test-fast` skips them

SINGLE = "SNGLE-HOST1-DEMO0-00001"
AUTH = {"Authorization": f"Bearer {FLEET_KEY}"}


def webhook_env(url: str) -> dict[str, str]:
    """The webhooks settings of a gateway process toward a receiver at ``url``."""
    endpoint = {"name": "crm", "url": url, "secret": SECRET}
    return {
        "LACGW_WEBHOOKS__ENDPOINTS": json.dumps([endpoint]),
        "LACGW_WEBHOOKS__ALLOW_PLAIN_HTTP": "true",
        "LACGW_WEBHOOKS__RETRY_SCHEDULE": json.dumps([0.3] * 100),
        "LACGW_WEBHOOKS__POLL_TICK": "0.05",
        "LACGW_WEBHOOKS__LEASE": "2",
    }


async def test_sigkilled_gateway_delivers_the_issued_event_after_restart(
    gateways: GatewayFactory,
) -> None:
    port = free_port()
    receiver = Receiver()
    env = webhook_env(f"http://127.0.0.1:{port}/hook")  # nothing listens there yet
    first = gateways(**env)
    await first.wait_healthy("/readyz")
    async with aiohttp.ClientSession() as http:
        body = {"activation_key": SINGLE, "hostids": ["HOSTNAME=killed01"]}
        async with http.post(f"{first.url}/v1/activations", json=body, headers=AUTH) as resp:
            assert resp.status == 200, await resp.text()
            aid = (await resp.json())["id"]
    first.kill()  # SIGKILL: the event is in Redis, its delivery never made it

    await receiver.start(port)
    try:
        second = gateways(**env)
        await second.wait_healthy("/readyz")

        async def delivered() -> bool:
            return bool(receiver.received)

        await until(delivered, "the event delivered by the restarted gateway", tries=3000)
        (got,) = receiver.received
        assert got.body["type"] == "activation.issued"
        assert got.body["data"]["activation_id"] == aid
        assert receiver.unverified == 0
    finally:
        await receiver.stop()
