"""Integration fixtures: the LAC sandbox on a real socket, its control API, and LAC clients."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.lac.base import Lac
from gateway.lac.factory import create_lac
from gateway.lac.soap_codec import ENDUSER_WSDL, VENDOR_WSDL, SoapCodec
from gateway.metrics import Metrics
from gateway.settings import CacheSettings, LacSettings
from gateway.store import create_stores
from gateway.store.tokens import Tokens
from lacsandbox.app import SandboxConfig, create_sandbox_app
from tests.integration.lac_support import VENDOR_PASSWORD, VENDOR_USER, SandboxControl, lac_settings


@pytest.fixture(scope="session")
def enduser_codec() -> SoapCodec:
    """The end-user SOAP v2 codec, loaded once for the session."""
    return SoapCodec.load(ENDUSER_WSDL)


@pytest.fixture(scope="session")
def vendor_codec() -> SoapCodec:
    """The vendor SOAP v4 codec, loaded once for the session."""
    return SoapCodec.load(VENDOR_WSDL)


@pytest.fixture
async def sandbox_url(tmp_path: Any) -> AsyncIterator[str]:
    """A fresh sandbox on 127.0.0.1, port chosen by the OS, seeded with one vendor login."""
    seed = tmp_path / "sandbox.toml"
    seed.write_text(
        "[sandbox]\ntoken_ttl = 10800\nvendor_requires_https = false\n\n"
        f'[vendor]\nusername = "{VENDOR_USER}"\npassword = "{VENDOR_PASSWORD}"\n'
        "one_time_activations_left_count = 10\n"
    )
    server = TestServer(create_sandbox_app(SandboxConfig(seed=seed)), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def https_sandbox(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """A sandbox behind TLS with a certificate from a private CA; yields (URL, CA file)."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    runner = web.AppRunner(create_sandbox_app(SandboxConfig()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}", ca_file
    finally:
        await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """The HTTP session the application would own."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def control(session: aiohttp.ClientSession, sandbox_url: str) -> SandboxControl:
    """The sandbox control API."""
    return SandboxControl(session, sandbox_url)


@pytest.fixture
def settings(sandbox_url: str) -> LacSettings:
    """LAC settings for the sandbox (SOAP transport)."""
    return lac_settings(sandbox_url)


@pytest.fixture
def metrics() -> Metrics:
    """A metrics registry of its own."""
    return Metrics()


@pytest.fixture(params=["soap", "rest"])
def transport(request: pytest.FixtureRequest) -> str:
    """Each transport in turn."""
    value: str = request.param
    return value


@pytest.fixture
def lac(
    session: aiohttp.ClientSession,
    sandbox_url: str,
    transport: str,
    enduser_codec: SoapCodec,
    metrics: Metrics,
) -> Lac:
    """The adapter for ``transport``, built by the factory as the application does."""
    return create_lac(
        session, lac_settings(sandbox_url, transport=transport), enduser_codec, metrics
    )


@pytest.fixture
def token_store(redis_client: aioredis.Redis) -> Tokens:
    """The gateway's Redis token store, as the vendor client's token cache."""
    return create_stores(redis_client, "lacgw-test", CacheSettings()).tokens
