"""Sandbox flag ``without_get_license``: GetLicense leaves the WSDL and answers a Client fault."""

from __future__ import annotations

import aiohttp
from lxml import etree

from lacsandbox.__main__ import build_parser
from lacsandbox.app import SandboxConfig, create_sandbox
from tests.sandbox.sandbox_support import SINGLE, SOAP_ENV, RunningSandbox, envelope, post_soap

HOST = "HOSTNAME=build01"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"


def operations(wsdl: bytes) -> set[str]:
    tree = etree.fromstring(wsdl)
    return {op.get("name", "") for op in tree.iter(f"{{{WSDL_NS}}}operation")}


async def set_flag(http: aiohttp.ClientSession, sandbox: RunningSandbox, on: bool) -> None:
    async with http.patch(
        f"{sandbox.url}/_sandbox/settings", json={"without_get_license": on}
    ) as reply:
        assert reply.status == 200
        assert (await reply.json())["without_get_license"] is on


async def test_flag_removes_get_license_from_the_wsdl(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    url = running_sandbox.soap_url() + "?wsdl"
    async with http.get(url) as reply:
        assert "GetLicense" in operations(await reply.read())
    await set_flag(http, running_sandbox, True)
    async with http.get(url) as reply:
        names = operations(await reply.read())
    assert "GetLicense" not in names
    assert "CreateLicenseRequest" in names
    async with http.get(url) as reply:
        assert b"GetLicenseRequest" not in await reply.read()  # its messages went too


async def test_flag_answers_get_license_with_a_client_fault(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await set_flag(http, running_sandbox, True)
    xml = envelope("GetLicense", activationKey=SINGLE, hostid=HOST)
    reply = await post_soap(http, running_sandbox.soap_url(), xml)
    assert reply.status == 500
    assert reply.tree.findtext(f".//{{{SOAP_ENV}}}Fault/faultcode") == "SOAP-ENV:Client"
    create = envelope("CreateLicenseRequest", activationKey=SINGLE, hostid=HOST)
    assert (await post_soap(http, running_sandbox.soap_url(), create)).code == 0
    await set_flag(http, running_sandbox, False)
    assert (await post_soap(http, running_sandbox.soap_url(), xml)).status == 200


def test_flag_is_a_command_line_option_and_survives_reset() -> None:
    args = build_parser().parse_args(["--without-get-license"])
    assert args.without_get_license is True
    sandbox = create_sandbox(SandboxConfig(without_get_license=True))
    sandbox.without_get_license = False
    sandbox.reset()
    assert sandbox.without_get_license is True
