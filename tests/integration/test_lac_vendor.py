"""The vendor SOAP client: one shared login token in Redis, re-login on code 50, order lookups."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import structlog
from pydantic import SecretStr

from gateway.lac.base import LacRejected
from gateway.lac.soap_codec import SoapCodec
from gateway.lac.vendor import LacVendorClient
from gateway.metrics import Metrics
from gateway.models import ActivationCounters
from gateway.settings import LacSettings
from gateway.store.tokens import Tokens
from tests.integration.lac_support import VENDOR_PASSWORD, SandboxControl, lac_settings

KEY = "VENDR-ORDER-00000-00001"
NEIGHBOUR = "VENDR-ORDER-00000-00011"


def vendor_client(
    session: aiohttp.ClientSession,
    settings: LacSettings,
    codec: SoapCodec,
    store: Tokens,
    metrics: Metrics | None = None,
) -> LacVendorClient:
    return LacVendorClient(session, settings, codec, store, metrics)


@pytest.fixture
def vendor(
    session: aiohttp.ClientSession,
    settings: LacSettings,
    vendor_codec: SoapCodec,
    token_store: Tokens,
    metrics: Metrics,
) -> LacVendorClient:
    return vendor_client(session, settings, vendor_codec, token_store, metrics)


def refreshes(metrics: Metrics, reason: str) -> float:
    value = metrics.registry.get_sample_value("lacgw_lac_token_refreshes_total", {"reason": reason})
    return value or 0.0


async def test_one_login_serves_many_calls_and_the_token_lives_in_redis(
    vendor: LacVendorClient, control: SandboxControl, token_store: Tokens, settings: LacSettings
) -> None:
    await vendor.activation_counters()
    await vendor.activation_counters()
    assert await control.count("soap", "Login") == 1
    assert await control.count("soap", "GetActivationCounters") == 2
    token = await token_store.get_token()
    assert token
    ttl = await token_store.redis.ttl(token_store.keys.token)
    assert 0 < ttl <= settings.token_ttl - settings.token_refresh_margin


async def test_fifty_concurrent_calls_without_a_token_log_in_once(
    vendor: LacVendorClient, control: SandboxControl, metrics: Metrics
) -> None:
    await asyncio.gather(*(vendor.activation_counters() for _ in range(50)))
    assert await control.count("soap", "Login") == 1
    assert await control.count("soap", "GetActivationCounters") == 50
    assert refreshes(metrics, "missing") == 1


async def test_replicas_sharing_redis_share_the_token(
    session: aiohttp.ClientSession,
    settings: LacSettings,
    vendor_codec: SoapCodec,
    token_store: Tokens,
    control: SandboxControl,
) -> None:
    first = vendor_client(session, settings, vendor_codec, token_store)
    second = vendor_client(session, settings, vendor_codec, token_store)
    await first.activation_counters()
    await second.activation_counters()
    assert await control.count("soap", "Login") == 1


async def test_replicas_starting_together_log_in_once(
    session: aiohttp.ClientSession,
    settings: LacSettings,
    vendor_codec: SoapCodec,
    token_store: Tokens,
    control: SandboxControl,
) -> None:
    replicas = [vendor_client(session, settings, vendor_codec, token_store) for _ in range(3)]
    # A slow login: every replica finds the cache empty while the first login is under way.
    await control.fault("latency", transport="soap", operation="Login", latency=0.3)
    await asyncio.gather(*(r.activation_counters() for r in replicas for _ in range(20)))
    assert await control.count("soap", "Login") == 1
    assert await control.count("soap", "GetActivationCounters") == 60


async def test_an_expired_token_costs_one_login_and_the_call_is_replayed(
    vendor: LacVendorClient, control: SandboxControl, token_store: Tokens, metrics: Metrics
) -> None:
    await control.put_order(KEY)
    assert await vendor.find_order(KEY) is not None
    old = await token_store.get_token()
    await control.expire_tokens()
    summary = await vendor.find_order(KEY)
    assert summary is not None
    assert summary.activation_key == KEY
    assert await control.count("soap", "Login") == 2
    assert await control.count("soap", "FindLicenseOrderByActivationKey") == 3
    assert await token_store.get_token() not in (None, old)
    assert refreshes(metrics, "expired") == 1


async def test_token_expiry_under_concurrency_still_logs_in_once(
    vendor: LacVendorClient, control: SandboxControl
) -> None:
    await vendor.activation_counters()
    await control.expire_tokens()
    await asyncio.gather(*(vendor.activation_counters() for _ in range(20)))
    assert await control.count("soap", "Login") == 2


async def test_code_50_twice_in_a_row_is_raised(
    vendor: LacVendorClient, control: SandboxControl
) -> None:
    await control.fault("code", transport="soap", operation="GetActivationCounters", code=50)
    with pytest.raises(LacRejected) as caught:
        await vendor.activation_counters()
    assert caught.value.code == 50
    assert await control.count("soap", "Login") == 2
    assert await control.count("soap", "GetActivationCounters") == 2


async def test_bad_credentials_are_code_10_and_never_logged(
    session: aiohttp.ClientSession,
    sandbox_url: str,
    vendor_codec: SoapCodec,
    token_store: Tokens,
) -> None:
    wrong = "not-the-Password-42"
    settings = lac_settings(sandbox_url, password=SecretStr(wrong))
    client = vendor_client(session, settings, vendor_codec, token_store)
    with structlog.testing.capture_logs() as logs, pytest.raises(LacRejected) as caught:
        await client.activation_counters()
    assert caught.value.code == 10
    assert await token_store.get_token() is None
    assert any(entry.get("code") == 10 for entry in logs)
    assert wrong not in repr(logs)
    assert VENDOR_PASSWORD not in repr(logs)
    assert wrong not in str(caught.value)


async def test_activation_counters_are_typed(
    vendor: LacVendorClient, control: SandboxControl
) -> None:
    counters = await vendor.activation_counters()
    assert counters.one_time_activations_left_count == 10
    # The reply's undeclared free_activations_left_count is not carried along.
    assert set(counters.model_dump()) == set(ActivationCounters.model_fields)


async def test_find_order_picks_the_exact_key_among_partial_matches(
    vendor: LacVendorClient, control: SandboxControl
) -> None:
    await control.put_order(KEY, bulk_max=3)
    await control.put_order(NEIGHBOUR, enabled=False)
    summary = await vendor.find_order(KEY)
    assert summary is not None
    assert (summary.activation_key, summary.enabled) == (KEY, True)
    assert summary.activations_used == 0
    neighbour = await vendor.order(NEIGHBOUR)
    assert neighbour is not None
    assert (neighbour.activation_key, neighbour.enabled) == (NEIGHBOUR, False)
    assert await vendor.find_order("VENDR-ORDER-00000-99999") is None


async def test_logout_ends_the_session_and_the_next_call_logs_in_again(
    vendor: LacVendorClient, control: SandboxControl, token_store: Tokens
) -> None:
    await vendor.activation_counters()
    await vendor.logout()
    assert await control.count("soap", "Logout") == 1
    assert await token_store.get_token() is None
    await vendor.activation_counters()
    assert await control.count("soap", "Login") == 2


@pytest.mark.parametrize("code", [101, 105])
async def test_find_order_reads_no_such_key_codes_as_none(
    vendor: LacVendorClient, control: SandboxControl, code: int
) -> None:
    await control.put_order(KEY)
    await control.fault(
        "code", transport="soap", operation="FindLicenseOrderByActivationKey", code=code
    )
    assert await vendor.find_order(KEY) is None


async def test_find_order_raises_other_codes(
    vendor: LacVendorClient, control: SandboxControl
) -> None:
    await control.fault(
        "code", transport="soap", operation="FindLicenseOrderByActivationKey", code=104
    )
    with pytest.raises(LacRejected) as caught:
        await vendor.find_order(KEY)
    assert caught.value.code == 104
