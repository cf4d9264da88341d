"""Shared by the sandbox tests: demo order keys, the running-sandbox handle, a zeep wrapper."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import aiohttp
import requests
import zeep
import zeep.helpers
from aiohttp import web
from lxml import etree
from zeep.transports import Transport

from lacsandbox.clock import Clock
from lacsandbox.keys import SANDBOX
from lacsandbox.runtime import Sandbox

SEED_FILE = Path(__file__).resolve().parents[2] / "config" / "sandbox.toml"
FROZEN_EPOCH = 1_800_000_000.0
"""2027-01-15 08:00:00 UTC: sandbox time stands still unless a test advances it."""

# Demo orders of config/sandbox.toml used across the tests.
SINGLE = "SNGLE-HOST1-DEMO0-00001"
BULK5 = "BULK5-SEATS-DEMO0-00002"
BENCH = "BENCH-BULKX-DEMO0-00003"
DISABLED = "DSBLD-ORDER-DEMO0-00004"
ETHERNET_ONLY = "ETHER-POLCY-DEMO0-00005"
NOT_LOCKED = "NOTLK-ORDER-DEMO0-00006"
DELAYED = "DELAY-2SECS-DEMO0-00007"
GENERATOR_FAILS = "GENFL-ORDER-DEMO0-00008"
NO_GENERATOR = "NOGEN-ORDER-DEMO0-00009"
REMOVAL = "RMVAL-ORDER-DEMO0-00010"
DEACTIVATE_ONCE = "DEACT-ONCE0-DEMO0-00011"
BAD_CONFIG = "BADCF-ORDER-DEMO0-00012"
UNKNOWN = "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"


@dataclass(frozen=True, slots=True)
class RunningSandbox:
    """A sandbox listening on 127.0.0.1 and the objects behind it."""

    url: str
    app: web.Application

    @property
    def sandbox(self) -> Sandbox:
        """State machine, counters and faults of this sandbox."""
        return self.app[SANDBOX]

    @property
    def clock(self) -> Clock:
        """The sandbox's (frozen) clock."""
        return self.sandbox.state.clock

    def soap_url(self, kind: str = "enduser", version: int = 2) -> str:
        """The SOAP endpoint URL for ``kind`` and ``version``."""
        return f"{self.url}/soap/type/{kind}/version/{version}"


class ZeepService:
    """A zeep client on a served WSDL; calls run in a thread (zeep is synchronous)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    async def load(cls, wsdl_url: str, session: requests.Session) -> ZeepService:
        """Fetch and read the WSDL at ``wsdl_url``."""
        transport = Transport(session=session, cache=None)  # type: ignore[no-untyped-call]
        # Not strict: the counters reply carries a field the WSDL does not declare, as LAC's
        # documented example does, and a strict zeep refuses it.
        settings = zeep.Settings(strict=False)
        client = await asyncio.to_thread(
            zeep.Client, wsdl_url, transport=transport, settings=settings
        )
        return cls(client)

    @property
    def address(self) -> str:
        """The ``soap:address`` of the loaded WSDL."""
        return str(self._client.service._binding_options["address"])

    async def call(self, operation: str, *args: object) -> dict[str, Any]:
        """Call ``operation`` and return its ``return`` structure as plain dicts."""
        method = getattr(self._client.service, operation)
        reply = await asyncio.to_thread(method, *args)
        plain = zeep.helpers.serialize_object(reply, dict)  # type: ignore[no-untyped-call]
        assert isinstance(plain, dict)
        return plain


SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ENDUSER_NS = "https://license.x-formation.com/soap/type/enduser/version/2"


def envelope(operation: str, namespace: str = ENDUSER_NS, **params: str | int) -> str:
    """A minimal untyped rpc request, as LAC's own v1 example sends it."""
    body = "".join(f"<{k}>{escape(str(v), quote=False)}</{k}>" for k, v in params.items())
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:ns="{namespace}">'
        f'<soapenv:Body soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
        f"<ns:{operation}>{body}</ns:{operation}></soapenv:Body></soapenv:Envelope>"
    )


@dataclass(frozen=True, slots=True)
class SoapReply:
    """What came back from a raw SOAP call."""

    status: int
    body: bytes

    @property
    def tree(self) -> etree._Element:
        """The parsed reply."""
        return etree.fromstring(self.body)

    @property
    def code(self) -> int:
        """``result_code`` of the reply."""
        return int(self.tree.findtext(".//return/result_code") or "-1")

    @property
    def text(self) -> str | None:
        """``result_string`` of the reply; None when nil."""
        node = self.tree.find(".//return/result_string")
        if node is None or node.get(f"{{{XSI}}}nil") == "true":
            return None
        return node.text or ""


async def post_soap(
    http: aiohttp.ClientSession, url: str, xml: str, soap_action: str = '""'
) -> SoapReply:
    """POST a request envelope and read the reply."""
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": soap_action}
    async with http.post(url, data=xml.encode(), headers=headers) as resp:
        return SoapReply(resp.status, await resp.read())


async def call(
    http: aiohttp.ClientSession, sandbox: RunningSandbox, operation: str, **params: str | int
) -> SoapReply:
    """Call an end-user v2 or vendor v4 operation with an untyped envelope."""
    vendor = operation in VENDOR_OPERATIONS
    url = sandbox.soap_url("vendor", 4) if vendor else sandbox.soap_url()
    namespace = url.replace(sandbox.url, "https://license.x-formation.com")
    return await post_soap(http, url, envelope(operation, namespace, **params))


VENDOR_OPERATIONS = frozenset(
    {
        "Login",
        "Logout",
        "GetActivationCounters",
        "FindLicenseOrderByActivationKey",
        "GetLicenseOrderList",
        "GetLicenseOrderDisabled",
        "ResetDeactivationCounter",
        "DeactivateLicenseOrder",
    }
)
