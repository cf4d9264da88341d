"""``lac.wsdl_source``: shipped never asks the network, live insists, auto falls back once."""

from __future__ import annotations

import aiohttp
import pytest

from gateway.lac.soap_codec import ENDUSER_WSDL
from gateway.lac.soap_ops import ENDUSER_OPS
from gateway.lac.wsdlsource import LoadedWsdl, WsdlUnavailable, load_wsdl
from tests.integration.lac_support import lac_settings

DEAD = "http://127.0.0.1:9"  # the discard port: nothing listens there


async def load(session: aiohttp.ClientSession, base: str, source: str) -> LoadedWsdl:
    settings = lac_settings(base, wsdl_source=source, connect_timeout=1.0)
    return await load_wsdl(session, settings, settings.soap_url, ENDUSER_WSDL, ENDUSER_OPS)


async def test_shipped_reads_the_package(session: aiohttp.ClientSession) -> None:
    loaded = await load(session, DEAD, "shipped")
    assert (loaded.source, loaded.mismatches, loaded.fallback_reason) == ("shipped", (), None)


async def test_live_refuses_to_start_without_the_live_wsdl(session: aiohttp.ClientSession) -> None:
    with pytest.raises(WsdlUnavailable, match=r"127\.0\.0\.1:9/soap/type/enduser/version/2\?wsdl"):
        await load(session, DEAD, "live")


async def test_auto_falls_back_to_the_shipped_wsdl(session: aiohttp.ClientSession) -> None:
    loaded = await load(session, DEAD, "auto")
    assert loaded.source == "shipped"
    assert loaded.fallback_reason


async def test_live_reads_the_sandbox_wsdl(
    session: aiohttp.ClientSession, sandbox_url: str
) -> None:
    loaded = await load(session, sandbox_url, "live")
    assert (loaded.source, loaded.mismatches) == ("live", ())
    assert loaded.url == f"{sandbox_url}/soap/type/enduser/version/2?wsdl"
