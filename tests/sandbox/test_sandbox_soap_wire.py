"""The SOAP wire format: lenient requests in every documented shape, strict replies, Faults."""

from __future__ import annotations

import aiohttp
from lxml import etree

from tests.sandbox.sandbox_support import SINGLE, SOAP_ENV, XSI, RunningSandbox, post_soap

HOST = "HOSTNAME=build01"
ENC = "http://schemas.xmlsoap.org/soap/encoding/"
V1_NS = "http://license.x-formation.com/soap/type/enduser/version/1"
V2_NS = "https://license.x-formation.com/soap/type/enduser/version/2"

V1_DOC_SHAPE = f"""<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{V1_NS}">
  <SOAP-ENV:Body SOAP-ENV:encodingStyle="{ENC}">
    <ns1:CreateLicenseRequest>
      <activationKey>{SINGLE}</activationKey>
      <hostid>{HOST}</hostid>
    </ns1:CreateLicenseRequest>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>"""

NO_ENCODING_STYLE = f"""<soap:Envelope xmlns:soap="{SOAP_ENV}">
<soap:Body><CreateLicenseRequest xmlns="{V2_NS}?wsdl">
<activationKey>{SINGLE}</activationKey><hostid>{HOST}</hostid>
</CreateLicenseRequest></soap:Body></soap:Envelope>"""

V2_TYPED_SHAPE = f"""<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="{XSI}" xmlns:ns="{V2_NS}">
  <soapenv:Body>
    <ns:CreateLicenseRequest soapenv:encodingStyle="{ENC}">
      <activationKey xsi:type="xsd:string">{SINGLE}</activationKey>
      <hostid xsi:type="xsd:string">{HOST}</hostid>
    </ns:CreateLicenseRequest>
  </soapenv:Body>
</soapenv:Envelope>"""


async def test_v1_documented_shape_without_xsi_type_is_accepted(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    reply = await post_soap(http, running_sandbox.soap_url("enduser", 1), V1_DOC_SHAPE)

    assert (reply.status, reply.code) == (200, 0)
    assert running_sandbox.sandbox.state.orders[SINGLE].activated_count == 1


async def test_untyped_request_without_encoding_style_is_accepted(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    reply = await post_soap(http, running_sandbox.soap_url(), NO_ENCODING_STYLE, "urn:anything")

    assert (reply.status, reply.code) == (200, 0)
    assert running_sandbox.sandbox.state.orders[SINGLE].activated_count == 1


async def test_typed_request_with_encoding_style_on_the_operation_is_accepted(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    reply = await post_soap(
        http, running_sandbox.soap_url(), V2_TYPED_SHAPE, "CreateLicenseRequest"
    )

    assert (reply.status, reply.code) == (200, 0)


async def test_reply_is_rpc_encoded_with_ns1_bound_to_the_request_namespace(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    reply = await post_soap(http, running_sandbox.soap_url(), NO_ENCODING_STYLE)

    root = reply.tree
    assert root.prefix == "SOAP-ENV"
    assert root.nsmap["ns1"] == f"{V2_NS}?wsdl"
    assert root.nsmap["SOAP-ENC"] == ENC
    response = root.find(f"{{{SOAP_ENV}}}Body/{{{V2_NS}?wsdl}}CreateLicenseRequestResponse")
    assert response is not None
    ret = response.find("return")
    assert ret is not None
    assert ret.get(f"{{{XSI}}}type") == "ns1:Soap_Response"
    assert ret.find("result_code").get(f"{{{XSI}}}type") == "xsd:int"  # type: ignore[union-attr]
    assert ret.find("result_string").get(f"{{{XSI}}}nil") == "true"  # type: ignore[union-attr]
    assert reply.text is None


async def test_license_text_survives_xml_escaping(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await post_soap(http, running_sandbox.soap_url(), V2_TYPED_SHAPE)
    fetched = await post_soap(
        http,
        running_sandbox.soap_url(),
        V2_TYPED_SHAPE.replace("CreateLicenseRequest", "GetLicense"),
    )
    lic = running_sandbox.sandbox.state.inspect_license(SINGLE, HOST)

    assert lic is not None
    assert fetched.text == lic.content
    assert 'LICENSEE="Acme Engineering"' in (fetched.text or "")


async def test_markup_in_a_hostid_is_refused_in_band(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    xml = V2_TYPED_SHAPE.replace(HOST, "HOSTNAME=&lt;b&gt;&amp;")

    reply = await post_soap(http, running_sandbox.soap_url(), xml)

    assert (reply.status, reply.code) == (200, 106)


async def test_malformed_xml_gets_a_soap_fault_with_http_500(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    reply = await post_soap(http, running_sandbox.soap_url(), "<soap:Envelope><unclosed>")

    assert reply.status == 500
    assert reply.tree.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault/faultstring") is not None


async def test_xml_that_is_not_an_envelope_gets_a_soap_fault(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    reply = await post_soap(http, running_sandbox.soap_url(), "<GetLicense/>")

    assert reply.status == 500
    assert reply.tree.find(f".//{{{SOAP_ENV}}}Fault") is not None


async def test_v1_endpoint_refuses_v2_operations_like_an_unknown_function(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    xml = V1_DOC_SHAPE.replace("CreateLicenseRequest", "DeactivateLicense")

    v1 = await post_soap(http, running_sandbox.soap_url("enduser", 1), xml)
    v2 = await post_soap(http, running_sandbox.soap_url("enduser", 2), xml)

    assert v1.status == 500
    fault = v1.tree.findtext(f".//{{{SOAP_ENV}}}Fault/faultstring") or ""
    assert "DeactivateLicense" in fault
    assert (v2.status, v2.code) == (200, 205)


async def test_unknown_type_in_the_url_answers_code_41_in_band(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    reply = await post_soap(
        http, f"{running_sandbox.url}/soap/type/reseller/version/2", V2_TYPED_SHAPE
    )

    assert (reply.status, reply.code) == (200, 41)
    assert reply.tree.find(f".//{{{V2_NS}}}CreateLicenseRequestResponse") is not None


async def test_wsdl_of_an_unknown_endpoint_is_not_found(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{running_sandbox.url}/soap/type/enduser/version/9?wsdl") as resp:
        assert resp.status == 404


async def test_get_without_wsdl_query_is_not_allowed(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.get(running_sandbox.soap_url()) as resp:
        assert resp.status == 405


async def test_served_wsdl_uses_the_host_header_of_the_request(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    url = running_sandbox.soap_url("vendor", 4) + "?WSDL"
    async with http.get(url, headers={"Host": "lac.example:8443"}) as resp:
        body = await resp.read()

    tree = etree.fromstring(body)
    address = tree.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None
    assert address.get("location") == "http://lac.example:8443/soap/type/vendor/version/4"


async def test_entities_in_a_request_are_not_expanded(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    xml = (
        '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY h "HOSTNAME=build01">]>'
        + V2_TYPED_SHAPE.replace(HOST, "&h;")
    )

    reply = await post_soap(http, running_sandbox.soap_url(), xml)

    assert (reply.status, reply.code) == (200, 107)  # the HostID reads as missing
    assert running_sandbox.sandbox.state.orders[SINGLE].activated_count == 0
