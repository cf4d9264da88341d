"""The cold-activation baseline: a direct aiohttp + zeep client doing the gateway's LAC calls."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import zeep
from lxml import etree

from gateway.lac.soap_ops import SOAP_OPS, Op

WSDL = Path(__file__).resolve().parent.parent / "gateway" / "data" / "wsdl" / "enduser_v2.wsdl"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}

# zeep ships no type information: this one name keeps its Any inside this module.
_Client: Any = zeep.Client


class SoapActivation:
    """CreateLicenseRequest then GetLicense; how each call is built and read is a subclass's."""

    async def call(self, op: Op, activation_key: str, hostid: str) -> tuple[int, str | None]:
        """LAC's result code and string for ``op``."""
        raise NotImplementedError

    async def activate(self, activation_key: str, hostid: str) -> str:
        """The license text of a ready-at-once generation."""
        code, _ = await self.call(Op.CREATE, activation_key, hostid)
        if code != 0:
            raise RuntimeError(f"CreateLicenseRequest answered {code}")
        code, text = await self.call(Op.GET_LICENSE, activation_key, hostid)
        if code != 0 or not text:
            raise RuntimeError(f"GetLicense answered {code}")
        return text


class DirectSoap(SoapActivation):
    """Both calls built and parsed by zeep from the shipped WSDL."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self._client = _Client(str(WSDL), settings=zeep.Settings(strict=False))
        self._binding = self._client.service._binding

    async def call(self, op: Op, activation_key: str, hostid: str) -> tuple[int, str | None]:
        """LAC's result code and string for ``op``, through zeep."""
        name = SOAP_OPS[op].name
        envelope = self._client.create_message(
            self._client.service, name, activationKey=activation_key, hostid=hostid
        )
        body = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        async with self.http.post(self.url, data=body, headers=SOAP_HEADERS) as resp:
            reply = etree.fromstring(await resp.read())
        for element in reply.iter():  # the WSDL types every field; LAC's xsi:type adds nothing
            if _XSI_TYPE in element.attrib:
                del element.attrib[_XSI_TYPE]
        result = self._binding.get(name).process_reply(reply)
        return int(result["result_code"]), result["result_string"]


class DirectRest:
    """PUT /licenses, GET /license-queue (303), GET /licenses: end-user REST v2."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base

    def _url(self, collection: str, activation_key: str, hostid: str) -> str:
        segment = quote(base64.b64encode(hostid.encode()).decode(), safe="=")
        return f"{self.base}/{collection}/{activation_key}/{segment}"

    async def activate(self, activation_key: str, hostid: str) -> str:
        """The license text of a ready-at-once generation."""
        accept = {"Accept": "application/hal+json"}
        async with self.http.put(self._url("licenses", activation_key, hostid)) as resp:
            await resp.read()
            if resp.status not in (200, 201, 202):
                raise RuntimeError(f"PUT /licenses answered {resp.status}")
        queue = self._url("license-queue", activation_key, hostid)
        async with self.http.get(queue, headers=accept, allow_redirects=False) as resp:
            await resp.read()
            if resp.status != 303:
                raise RuntimeError(f"GET /license-queue answered {resp.status}")
        async with self.http.get(self._url("licenses", activation_key, hostid)) as resp:
            body = orjson.loads(await resp.read())
        text = body.get("content")
        if not isinstance(text, str) or not text:
            raise RuntimeError("GET /licenses without content")
        return text
