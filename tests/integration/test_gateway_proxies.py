"""The client address behind a reverse proxy: forwarded headers count only from trusted peers."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from gateway.settings import HttpSettings
from tests.gwharness import (
    ADMIN_KEY,
    Running,
    gateway_settings,
    problem_of,
    start_gateway,
    start_sandbox,
)

PER_IP = 2
KEY = "DEACT-ONCE0-DEMO0-00011"


@pytest.fixture
async def gateway(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Running]:
    """A gateway with a small per-IP limit trusting the networks ``request.param`` lists."""
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis_url,
        sandbox_url,
        "soap",
        limits={"per_ip": PER_IP, "window": 600.0},
        http={"default_wait": 5.0, "trusted_proxies": request.param},
    )
    runner, url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(url, sandbox_url, http, settings, app)
        finally:
            await runner.cleanup()
            await sandbox_runner.cleanup()


TRUSTING_LOOPBACK = pytest.mark.parametrize("gateway", [["127.0.0.0/8", "::1/128"]], indirect=True)
TRUSTING_OTHERS = pytest.mark.parametrize("gateway", [["192.0.2.0/24"]], indirect=True)


async def anonymous(gw: Running, **headers: str) -> int:
    """An unauthenticated request, counted against the client address; its status."""
    return (await gw.call("GET", "/openapi.json", key=None, headers=headers)).status


def clients_logged(entries: list[MutableMapping[str, Any]]) -> list[object]:
    """The client address of every access-log line."""
    return [e.get("client") for e in entries if e["event"] == "http_request"]


@TRUSTING_LOOPBACK
async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    gateway: Running,
) -> None:
    first = {"X-Forwarded-For": "203.0.113.7"}
    second = {"X-Forwarded-For": "203.0.113.8"}
    with capture_logs() as entries:
        assert [await anonymous(gateway, **first) for _ in range(PER_IP)] == [200] * PER_IP
        assert await anonymous(gateway, **second) == 200
        refused = await gateway.call("GET", "/openapi.json", key=None, headers=first)
    problem_of(refused, 429)
    assert clients_logged(entries) == ["203.0.113.7"] * 2 + ["203.0.113.8", "203.0.113.7"]


@TRUSTING_LOOPBACK
async def test_the_right_most_untrusted_address_counts_not_what_the_client_wrote(
    gateway: Running,
) -> None:
    # A client can write anything left of what its proxies append: that part is never read.
    spoofed = [f"198.51.100.{n}, 203.0.113.9, 127.0.0.9" for n in range(PER_IP + 1)]
    with capture_logs() as entries:
        statuses = [await anonymous(gateway, **{"X-Forwarded-For": xff}) for xff in spoofed]
    assert statuses == [200] * PER_IP + [429]
    assert set(clients_logged(entries)) == {"203.0.113.9"}


@TRUSTING_LOOPBACK
async def test_the_forwarded_header_is_read_too(gateway: Running) -> None:
    with capture_logs() as entries:
        forwarded = 'for="[2001:db8::17]:4711";proto=https, for=127.0.0.3'
        assert await anonymous(gateway, Forwarded=forwarded) == 200
        assert await anonymous(gateway, Forwarded="for=_hidden, for=203.0.113.10") == 200
    assert clients_logged(entries) == ["2001:db8::17", "203.0.113.10"]


@TRUSTING_LOOPBACK
async def test_x_forwarded_for_wins_over_a_forwarded_header_the_proxy_passed_through(
    gateway: Running,
) -> None:
    both = {"X-Forwarded-For": "203.0.113.11", "Forwarded": "for=198.51.100.66"}
    with capture_logs() as entries:
        assert await anonymous(gateway, **both) == 200
    assert clients_logged(entries) == ["203.0.113.11"]


@TRUSTING_LOOPBACK
async def test_a_forwarded_value_that_is_no_address_stops_at_the_proxy_that_sent_it(
    gateway: Running,
) -> None:
    with capture_logs() as entries:
        assert await anonymous(gateway, **{"X-Forwarded-For": "not-an-ip, 127.0.0.4"}) == 200
        assert await anonymous(gateway, **{"X-Forwarded-For": ", ,"}) == 200
    assert clients_logged(entries) == ["127.0.0.4", "127.0.0.1"]


@TRUSTING_OTHERS
async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(gateway: Running) -> None:
    spoofs = [
        {"X-Forwarded-For": "203.0.113.1"},
        {"Forwarded": "for=203.0.113.2"},
        {"X-Forwarded-For": "203.0.113.3", "Forwarded": "for=203.0.113.4"},
    ]
    with capture_logs() as entries:
        statuses = [await anonymous(gateway, **headers) for headers in spoofs]
    assert statuses == [200] * PER_IP + [429]
    assert set(clients_logged(entries)) == {"127.0.0.1"}


@TRUSTING_LOOPBACK
async def test_the_audit_trail_records_the_forwarded_client(gateway: Running) -> None:
    activated = await gateway.activate(
        KEY, ["HOSTNAME=proxied01"], **{"X-Forwarded-For": "203.0.113.20"}
    )
    assert activated.status == 200
    reply = await gateway.call("GET", "/v1/admin/audit", key=ADMIN_KEY)
    events = reply.json()["events"]
    assert [(e["action"], e["client"]) for e in events] == [("activation", "203.0.113.20")]


@TRUSTING_OTHERS
async def test_without_a_proxy_the_peer_address_is_logged(gateway: Running) -> None:
    with capture_logs() as entries:
        assert await anonymous(gateway) == 200
    assert clients_logged(entries) == ["127.0.0.1"]


@pytest.mark.parametrize("bad", [["10.0.0.300/8"], ["10.0.0.1/8"], ["proxy"], "[10.0.0.0/8", 8])
def test_trusted_proxies_must_be_a_list_of_networks(bad: object) -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        HttpSettings(trusted_proxies=bad)


def test_trusted_proxies_default_to_none_and_read_a_json_or_comma_list() -> None:
    assert HttpSettings().trusted_proxies == []
    written = ['["10.0.0.0/8", "fd00::/8"]', "10.0.0.0/8, fd00::/8"]
    parsed = [
        [str(net) for net in HttpSettings(trusted_proxies=text).trusted_proxies] for text in written
    ]
    assert parsed == [["10.0.0.0/8", "fd00::/8"]] * 2
