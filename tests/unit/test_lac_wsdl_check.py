"""Live WSDLs are read without the network, and every difference from soap_ops.py is named."""

from __future__ import annotations

import pytest

from gateway.lac.polling import LacRoute
from gateway.lac.soap_codec import ENDUSER_WSDL, VENDOR_WSDL, SoapCodec, WsdlUnusable
from gateway.lac.soap_ops import ENDUSER_OPS, VENDOR_OPS
from gateway.lac.wsdlcheck import compare
from lacsandbox.soapxml import wsdl_without

URL = "https://license.x-formation.com/soap/type/enduser/version/2?wsdl"
NS = "https://license.x-formation.com/soap/type/enduser/version/2"

# The shape PHP's SoapServer publishes: SOAP-ENC imported (with or without a location) and an
# array declared as a restriction of SOAP-ENC:Array.
PHP_STYLE = f"""<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="{NS}" targetNamespace="{NS}"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/">
  <types><xsd:schema targetNamespace="{NS}">
    <xsd:import namespace="http://schemas.xmlsoap.org/soap/encoding/"{{location}}/>
    <xsd:import namespace="http://schemas.xmlsoap.org/wsdl/"/>
    <xsd:complexType name="Soap_Response"><xsd:all>
      <xsd:element name="result_code" type="xsd:int"/>
      <xsd:element name="result_string" type="xsd:string" nillable="true"/>
    </xsd:all></xsd:complexType>
    <xsd:complexType name="ArrayOfString"><xsd:complexContent>
      <xsd:restriction base="SOAP-ENC:Array">
        <xsd:attribute ref="SOAP-ENC:arrayType" wsdl:arrayType="xsd:string[]"/>
      </xsd:restriction>
    </xsd:complexContent></xsd:complexType>
  </xsd:schema></types>
  <message name="CreateLicenseRequestRequest">
    <part name="activationKey" type="xsd:string"/><part name="hostid" type="xsd:string"/>
  </message>
  <message name="CreateLicenseRequestResponse">
    <part name="return" type="tns:Soap_Response"/>
  </message>
  <portType name="P"><operation name="CreateLicenseRequest">
    <input message="tns:CreateLicenseRequestRequest"/>
    <output message="tns:CreateLicenseRequestResponse"/>
  </operation></portType>
  <binding name="B" type="tns:P">
    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="CreateLicenseRequest"><soap:operation soapAction="{NS}#CreateLicenseRequest"/>
      <input><soap:body use="encoded" namespace="{NS}"
        encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></input>
      <output><soap:body use="encoded" namespace="{NS}"
        encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></output>
    </operation>
  </binding>
  <service name="S">
    <port name="Port" binding="tns:B"><soap:address location="{NS}"/></port>
  </service>
</definitions>"""


@pytest.mark.parametrize(
    "location", ["", ' schemaLocation="http://schemas.xmlsoap.org/soap/encoding/"']
)
def test_a_php_style_wsdl_reads_the_encoding_schema_from_the_package(location: str) -> None:
    codec = SoapCodec.load_document(URL, PHP_STYLE.replace("{location}", location).encode())
    assert codec.signatures() == {"CreateLicenseRequest": ("activationKey", "hostid")}


def test_a_wsdl_importing_anything_else_from_the_network_is_refused() -> None:
    remote = ' schemaLocation="http://example.com/lac-extra.xsd"'
    wsdl = PHP_STYLE.replace("{location}", "").replace(
        '<xsd:import namespace="http://schemas.xmlsoap.org/wsdl/"/>',
        f'<xsd:import namespace="urn:extra"{remote}/>',
    )
    with pytest.raises(WsdlUnusable, match=r"http://example\.com/lac-extra\.xsd"):
        SoapCodec.load_document(URL, wsdl.encode())


def test_not_xml_is_unusable() -> None:
    with pytest.raises(WsdlUnusable):
        SoapCodec.load_document(URL, b"<html>maintenance")


def test_the_shipped_wsdls_match_the_table() -> None:
    assert compare(SoapCodec.load(ENDUSER_WSDL).signatures(), ENDUSER_OPS, "shipped") == ()
    assert compare(SoapCodec.load(VENDOR_WSDL).signatures(), VENDOR_OPS, "shipped") == ()


def test_a_missing_operation_is_named_with_the_operations_there() -> None:
    wsdl = wsdl_without(ENDUSER_WSDL.read_text(), "GetLicense").encode()
    found = compare(SoapCodec.load_document(URL, wsdl).signatures(), ENDUSER_OPS, "live")
    assert [m.message for m in found] == [
        "GetLicense: not in the live WSDL; operations there: CreateLicenseRequest, "
        "DeactivateLicense, LicenseRemovalConfirm, LicenseRemovalRequested"
    ]
    assert found[0].missing


def test_other_arguments_are_named() -> None:
    wsdl = ENDUSER_WSDL.read_text().replace(
        '<message name="GetLicenseRequest">\n    <part name="activationKey"',
        '<message name="GetLicenseRequest">\n    <part name="activation_key"',
    )
    found = compare(SoapCodec.load_document(URL, wsdl.encode()).signatures(), ENDUSER_OPS, "live")
    assert [m.message for m in found] == [
        "GetLicense: the gateway sends (activationKey, hostid); "
        "the live WSDL declares (activation_key, hostid)"
    ]
    assert not found[0].missing


def test_route_without_get_license() -> None:
    wsdl = wsdl_without(ENDUSER_WSDL.read_text(), "GetLicense").encode()
    found = compare(SoapCodec.load_document(URL, wsdl).signatures(), ENDUSER_OPS, "live")
    with_rest = LacRoute("soap", fallback=True, mismatches=found, wsdl_source="live")
    assert (with_rest.status(), with_rest.polling, with_rest.polls_by_soap) == (
        "degraded",
        "rest license-queue",
        False,
    )
    alone = LacRoute("soap", fallback=False, mismatches=found)
    assert (alone.status(), alone.polling) == ("unready", "none")
    assert "GetLicense" in (alone.unready_reason() or "")
    # Over REST, GetLicense is not the polling call: missing it costs nothing.
    rest = LacRoute("rest", fallback=False, mismatches=found)
    assert rest.status() == "degraded"
    assert rest.unready_reason() is None


def test_route_after_a_refusal() -> None:
    route = LacRoute("soap", fallback=True)
    assert route.status() == "ok"
    assert route.refuse_get_license("SOAP-ENV:Client")
    assert not route.polls_by_soap
    assert route.status() == "degraded"
    assert route.report()["reasons"] == [
        "GetLicense: LAC answers it with a SOAP SOAP-ENV:Client fault (licenses are polled "
        "through end-user REST v2's license queue instead)"
    ]
