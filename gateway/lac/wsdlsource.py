"""Where the WSDLs come from (``lac.wsdl_source``: shipped, live or auto) and how they compare.

``live`` and ``auto`` fetch ``<endpoint>?wsdl`` (documented, lac-api.md section 2.1) with the
LAC timeouts and TLS settings and parse it off the event loop; standard schemas it imports are
read from the package (``SoapCodec.load_document``). ``auto`` falls back to the shipped WSDL
with one warning. Whatever the source, each mismatch with ``soap_ops.py`` is logged by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import structlog

from gateway.lac.factory import load_codec
from gateway.lac.http import client_timeout, ssl_context
from gateway.lac.soap_codec import ENDUSER_WSDL, VENDOR_WSDL, SoapCodec, WsdlUnusable
from gateway.lac.soap_ops import ENDUSER_OPS, VENDOR_OPS, Op
from gateway.lac.wsdlcheck import Mismatch, compare
from gateway.settings import LacSettings

log = structlog.get_logger(__name__)
MAX_WSDL_BYTES = 2 * 1024 * 1024
HTTP_OK = 200
SHIPPED, LIVE = "shipped", "live"


class WsdlUnavailable(RuntimeError):
    """``wsdl_source = live`` and the live WSDL could not be fetched or read."""


@dataclass(frozen=True, slots=True)
class LoadedWsdl:
    """A codec, which WSDL it was read from, and how that WSDL differs from the table."""

    codec: SoapCodec
    source: str
    url: str
    mismatches: tuple[Mismatch, ...]
    fallback_reason: str | None = None
    """Why ``auto`` read the shipped WSDL instead of the live one."""


def wsdl_url(endpoint: str) -> str:
    """The documented WSDL address of a SOAP endpoint: the endpoint with ``?wsdl``."""
    return endpoint.split("?", 1)[0] + "?wsdl"


async def fetch_wsdl(session: aiohttp.ClientSession, settings: LacSettings, url: str) -> bytes:
    """GET ``url`` with the LAC timeouts and TLS settings; ``WsdlUnusable`` unless a 200."""
    timeout, tls = client_timeout(settings), ssl_context(settings)
    async with session.get(url, timeout=timeout, ssl=tls, allow_redirects=False) as reply:
        if reply.status != HTTP_OK:
            raise WsdlUnusable(f"HTTP {reply.status}")
        data = bytearray()
        async for chunk in reply.content.iter_chunked(64 * 1024):
            data += chunk
            if len(data) > MAX_WSDL_BYTES:
                raise WsdlUnusable("larger than 2 MiB")
    return bytes(data)


async def load_live(session: aiohttp.ClientSession, settings: LacSettings, url: str) -> SoapCodec:
    """The codec of the live WSDL at ``url``; ``WsdlUnusable`` or a transport error otherwise."""
    data = await fetch_wsdl(session, settings, url)
    return await asyncio.to_thread(SoapCodec.load_document, url, data)


def _why(exc: BaseException) -> str:
    if isinstance(exc, WsdlUnusable):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def load_wsdl(
    session: aiohttp.ClientSession,
    settings: LacSettings,
    endpoint: str,
    shipped: Path,
    ops: Iterable[Op],
) -> LoadedWsdl:
    """The WSDL of ``endpoint`` from the configured source, compared with ``ops``' table rows."""
    url = wsdl_url(endpoint)
    reason: str | None = None
    source: str
    if settings.wsdl_source == SHIPPED:
        codec, source = await load_codec(shipped), SHIPPED
    else:
        try:
            codec, source = await load_live(session, settings, url), LIVE
        except (aiohttp.ClientError, TimeoutError, OSError, WsdlUnusable) as exc:
            reason = _why(exc)
            if settings.wsdl_source == LIVE:
                raise WsdlUnavailable(f"the live WSDL {url} cannot be used: {reason}") from exc
            log.warning("lac_wsdl_live_unavailable", url=url, reason=reason, using=SHIPPED)
            codec, source = await load_codec(shipped), SHIPPED
    mismatches = compare(codec.signatures(), ops, source)
    for mismatch in mismatches:
        log.warning("lac_wsdl_mismatch", operation=mismatch.operation, detail=mismatch.message)
    return LoadedWsdl(codec, source, url, mismatches, reason)


async def load_wsdls(
    session: aiohttp.ClientSession, settings: LacSettings
) -> tuple[LoadedWsdl, LoadedWsdl]:
    """The end-user v2 and vendor v4 WSDLs, loaded side by side."""
    return await asyncio.gather(
        load_wsdl(session, settings, settings.soap_url, ENDUSER_WSDL, ENDUSER_OPS),
        load_wsdl(session, settings, settings.vendor_soap_url, VENDOR_WSDL, VENDOR_OPS),
    )
