"""Fixtures for sandbox tests: a sandbox on a real socket (port 0), a frozen clock, zeep clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
import requests
from aiohttp import web

from lacsandbox.app import SandboxConfig, create_sandbox_app
from lacsandbox.clock import Clock
from tests.sandbox.sandbox_support import FROZEN_EPOCH, SEED_FILE, RunningSandbox, ZeepService


@pytest.fixture
def frozen_clock() -> Clock:
    """A clock that only moves when a test advances it."""
    return Clock(source=lambda: FROZEN_EPOCH)


@pytest.fixture
async def running_sandbox(frozen_clock: Clock) -> AsyncIterator[RunningSandbox]:
    """The sandbox seeded from config/sandbox.toml, on a free port of 127.0.0.1."""
    app = create_sandbox_app(SandboxConfig(seed=SEED_FILE, clock=frozen_clock))
    # Short shutdown: a test may leave a handler sleeping in an injected latency.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RunningSandbox(f"http://127.0.0.1:{port}", app)
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def requests_session() -> Iterator[requests.Session]:
    """The HTTP session zeep uses, closed after the test."""
    with requests.Session() as session:
        yield session


@pytest.fixture
async def enduser(
    running_sandbox: RunningSandbox, requests_session: requests.Session
) -> ZeepService:
    """zeep on the end-user v2 WSDL served by the sandbox."""
    return await ZeepService.load(running_sandbox.soap_url() + "?wsdl", requests_session)


@pytest.fixture
async def vendor(
    running_sandbox: RunningSandbox, requests_session: requests.Session
) -> ZeepService:
    """zeep on the vendor v4 WSDL served by the sandbox."""
    return await ZeepService.load(running_sandbox.soap_url("vendor", 4) + "?wsdl", requests_session)
