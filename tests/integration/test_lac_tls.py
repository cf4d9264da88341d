"""TLS toward LAC: verification is on by default, and a private CA is trusted through ca_bundle."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
import pytest

from gateway.codes import Code
from gateway.lac.base import LacAmbiguous, LacUnavailable
from gateway.lac.factory import create_lac
from gateway.lac.soap_codec import SoapCodec
from tests.integration.lac_support import SandboxControl, lac_settings

KEY = "TLSTE-ORDER-00000-00001"
HOST = "HOSTNAME=build01"


def trusting(ca_file: Path) -> aiohttp.ClientSession:
    """A session that trusts the private CA, for the control API."""
    context = ssl.create_default_context(cafile=str(ca_file))
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))


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
