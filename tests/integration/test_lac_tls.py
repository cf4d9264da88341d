"""TLS toward LAC: verification is on by default, and a private CA is trusted through ca_bundle."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web

from gateway.codes import Code
from gateway.lac.base import LacAmbiguous, LacUnavailable
from gateway.lac.factory import create_lac
from gateway.lac.soap_codec import SoapCodec
from lacsandbox.app import SandboxConfig, create_sandbox_app
from tests.integration.lac_support import SandboxControl, lac_settings

KEY = "TLSTE-ORDER-00000-00001"
HOST = "HOSTNAME=build01"


def trusting(ca_file: Path) -> aiohttp.ClientSession:
    """A session that trusts the private CA, for the control API."""
    context = ssl.create_default_context(cafile=str(ca_file))
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))


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


async def test_an_untrusted_certificate_is_refused_before_anything_is_sent(
    session: aiohttp.ClientSession,
    https_sandbox: tuple[str, Path],
    transport: str,
    enduser_codec: SoapCodec,
) -> None:
    url, ca_file = https_sandbox
    lac = create_lac(session, lac_settings(url, transport=transport), enduser_codec)
    with pytest.raises(LacUnavailable) as caught:
        await lac.create(KEY, HOST)
    assert caught.value.code == Code.SOAP_NO_NETWORK_HOST
    assert not isinstance(caught.value, LacAmbiguous)
    async with trusting(ca_file) as trusted:
        assert await SandboxControl(trusted, url).counters() == {}


async def test_a_ca_bundle_makes_a_private_ca_trusted(
    session: aiohttp.ClientSession,
    https_sandbox: tuple[str, Path],
    transport: str,
    enduser_codec: SoapCodec,
) -> None:
    url, ca_file = https_sandbox
    settings = lac_settings(url, transport=transport, ca_bundle=ca_file)
    lac = create_lac(session, settings, enduser_codec)
    async with trusting(ca_file) as trusted:
        control = SandboxControl(trusted, url)
        await control.put_order(KEY)
        await lac.create(KEY, HOST)
        assert await lac.fetch(KEY, HOST) is not None
        counted = await control.counters()
    assert sum(counted[transport].values()) == 2
