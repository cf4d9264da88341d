"""Builds the configured ``Lac`` adapter and loads the shipped WSDLs off the event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from opentelemetry.trace import Tracer

from gateway.lac.base import Lac
from gateway.lac.http import LacHttp
from gateway.lac.pause import PauseBoard
from gateway.lac.polling import LacRoute
from gateway.lac.resilience import BreakerPolicy, ResilientLac, RetryPolicy
from gateway.lac.rest import TRANSPORT as REST
from gateway.lac.rest import LacRestClient
from gateway.lac.soap import TRANSPORT as SOAP
from gateway.lac.soap import LacSoapClient
from gateway.lac.soap_codec import ENDUSER_WSDL, VENDOR_WSDL, SoapCodec
from gateway.lac.vendor import LacVendorClient
from gateway.metrics import Metrics
from gateway.settings import LacSettings


@dataclass(frozen=True, slots=True)
class LacClients:
    """The LAC clients of one process: end-user calls, vendor calls, and who answers orders."""

    enduser: Lac
    vendor: LacVendorClient
    orders: LacRestClient | LacVendorClient
    route: LacRoute | None = None
    """How licenses are polled, and what /readyz says about LAC's WSDL."""


async def load_codec(path: Path) -> SoapCodec:
    """Parse a WSDL in a worker thread: zeep's loading blocks."""
    return await asyncio.to_thread(SoapCodec.load, path)


async def load_enduser_codec() -> SoapCodec:
    """The end-user SOAP v2 codec from the WSDL shipped in the package."""
    return await load_codec(ENDUSER_WSDL)


async def load_vendor_codec() -> SoapCodec:
    """The vendor SOAP v4 codec from the WSDL shipped in the package."""
    return await load_codec(VENDOR_WSDL)


def create_lac(
    session: aiohttp.ClientSession,
    settings: LacSettings,
    codec: SoapCodec,
    metrics: Metrics | None = None,
    *,
    resilient: bool = False,
    retry: RetryPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    pause: PauseBoard | None = None,
    route: LacRoute | None = None,
    tracer: Tracer | None = None,
) -> Lac:
    """The adapter ``settings.transport`` names; REST mode keeps SOAP for the removal calls.

    With ``resilient``, it is wrapped in ``ResilientLac`` (retries, retry budget, breaker);
    ``pause`` shares LAC's ``Retry-After`` with the other replicas; ``tracer`` records a span
    per call. Over SOAP, ``route`` says when licenses are polled through REST instead of
    GetLicense (``lac.rest_fallback``).
    """
    adapter: Lac
    if settings.transport == SOAP:
        soap_http = LacHttp(
            session, settings, transport=SOAP, metrics=metrics, pause=pause, tracer=tracer
        )
        fallback = None
        if settings.rest_fallback:
            rest_http = soap_http.for_transport(REST)
            fallback = LacRestClient(session, settings, metrics, http=rest_http)
        adapter = LacSoapClient(
            session, settings, codec, metrics, http=soap_http, route=route, fallback=fallback
        )
    else:
        # One concurrency cap toward LAC whichever door a call goes through.
        http = LacHttp(
            session, settings, transport=REST, metrics=metrics, pause=pause, tracer=tracer
        )
        removal = LacSoapClient(session, settings, codec, metrics, http=http.for_transport(SOAP))
        adapter = LacRestClient(session, settings, metrics, removal=removal, http=http)
    if resilient:
        return ResilientLac(adapter, retry, breaker, metrics=metrics)
    return adapter
