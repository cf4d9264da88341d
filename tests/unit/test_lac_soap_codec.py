"""The SOAP codec on the WSDLs shipped in the package: envelopes out, typed results in."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog
from lxml import etree

from gateway.codes import Code
from gateway.lac.base import LacRejected, LacRequestRejected, LacUnavailable
from gateway.lac.soap_codec import ENDUSER_WSDL, VENDOR_WSDL, SoapCodec
from gateway.lac.soap_ops import SOAP_OPS, Op
from gateway.logs import configure_logging

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ENDUSER_NS = "https://license.x-formation.com/soap/type/enduser/version/2"


@pytest.fixture(scope="module")
def enduser() -> SoapCodec:
    return SoapCodec.load(ENDUSER_WSDL)


@pytest.fixture(scope="module")
def vendor() -> SoapCodec:
    return SoapCodec.load(VENDOR_WSDL)


def reply(operation: str, inner: str, namespace: str = ENDUSER_NS) -> bytes:
    """A reply in the shape PHP's SoapServer (and so LAC) emits."""
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{namespace}"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/"'
        ' SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
        f"<SOAP-ENV:Body><ns1:{operation}Response>{inner}</ns1:{operation}Response>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def response(code: int, text: str | None, extra: str = "", kind: str = "Soap_Response") -> str:
    string = (
        '<result_string xsi:nil="true"/>'
        if text is None
        else f'<result_string xsi:type="xsd:string">{text}</result_string>'
    )
    return (
        f'<return xsi:type="ns1:{kind}"><result_code xsi:type="xsd:int">{code}</result_code>'
        f"{string}{extra}</return>"
    )


def test_envelope_carries_the_operation_and_wire_field_names(enduser: SoapCodec) -> None:
    body = enduser.build(Op.CREATE, activation_key="AAAAA-BBBBB", hostid="HOSTNAME=build01")
    root = etree.fromstring(body)
    call = root.find(f"{{{ENV}}}Body")[0]  # type: ignore[index]
    assert call.tag == f"{{{ENDUSER_NS}}}{SOAP_OPS[Op.CREATE].name}"
    fields = {child.tag: child.text for child in call}
    assert fields == {"activationKey": "AAAAA-BBBBB", "hostid": "HOSTNAME=build01"}


def test_license_text_is_returned_from_get_license(enduser: SoapCodec) -> None:
    text = "# Generation Time: 2024-01-01 12:00:00 GMT\nFEATURE f\n{\nVENDOR=A &amp; B\n}\n"
    result = enduser.parse(Op.GET_LICENSE, reply("GetLicense", response(0, text)))
    assert result.result_code == 0
    assert result.result_string is not None
    assert "VENDOR=A & B" in result.result_string


def test_nil_result_string_is_none(enduser: SoapCodec) -> None:
    result = enduser.parse(Op.GET_LICENSE, reply("GetLicense", response(1, None)))
    assert result.result_code == 1
    assert result.result_string is None


def test_login_token_is_read(vendor: SoapCodec) -> None:
    token = '<token xsi:type="xsd:string">0123abcd</token>'
    data = reply("Login", response(0, None, token, "Soap_Response_Login"), "urn:any")
    assert vendor.parse(Op.LOGIN, data).token == "0123abcd"


def test_soap_enc_arrays_in_another_namespace_become_lists_of_dicts(vendor: SoapCodec) -> None:
    items = (
        '<result_array SOAP-ENC:arrayType="ns1:Soap_LicenseOrder[2]" xsi:type="SOAP-ENC:Array">'
        '<item xsi:type="ns1:Soap_LicenseOrder"><activation_key xsi:type="xsd:string">K-1'
        '</activation_key><enabled xsi:type="xsd:boolean">true</enabled>'
        '<activated_licenses_count xsi:type="xsd:int">3</activated_licenses_count></item>'
        '<item xsi:type="ns1:Soap_LicenseOrder"><activation_key xsi:type="xsd:string">K-12'
        '</activation_key><enabled xsi:type="xsd:boolean">false</enabled></item></result_array>'
    )
    body = response(0, None, items, "Soap_Response_List_LicenseOrder")
    data = reply("FindLicenseOrderByActivationKey", body, "https://elsewhere.test/v4?wsdl")
    result = vendor.parse(Op.FIND_ORDER, data)
    assert result.result_array is not None
    assert [(r["activation_key"], r["enabled"]) for r in result.result_array] == [
        ("K-1", True),
        ("K-12", False),
    ]
    assert result.result_array[0]["activated_licenses_count"] == 3


def test_nested_counters_object_is_plain_data(vendor: SoapCodec) -> None:
    obj = (
        '<result_object xsi:type="ns1:Soap_ActivationCounters">'
        '<ActivationSubscriptions xsi:type="SOAP-ENC:Array"><item>'
        "<activations_left_count>7</activations_left_count><default_count>10</default_count>"
        "</item></ActivationSubscriptions>"
        "<one_time_activations_left_count>5</one_time_activations_left_count></result_object>"
    )
    data = reply("GetActivationCounters", response(0, None, obj, "x"), "urn:v4")
    result = vendor.parse(Op.ACTIVATION_COUNTERS, data)
    assert result.result_object is not None
    assert result.result_object["one_time_activations_left_count"] == 5
    subscriptions = result.result_object["ActivationSubscriptions"]
    assert isinstance(subscriptions, dict)
    assert subscriptions["item"] == [
        {
            "start_date": None,
            "expiration_date": None,
            "next_reset_date": None,
            "activations_left_count": 7,
            "default_count": 10,
        }
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<SOAP-ENV:Envelope", "malformed XML"),
        (b"<html><body>Bad gateway</body></html>", "not a SOAP envelope"),
        (
            f'<e:Envelope xmlns:e="{ENV}"><e:Body><e:Fault><faultcode>e:Server</faultcode>'
            "<faultstring>boom</faultstring></e:Fault></e:Body></e:Envelope>".encode(),
            "SOAP Fault e:Server",
        ),
        (f'<e:Envelope xmlns:e="{ENV}"><e:Body/></e:Envelope>'.encode(), "does not match"),
        (
            reply("GetLicense", "<return><result_string>x</result_string></return>"),
            "without result_code",
        ),
    ],
)
def test_unusable_replies_are_comm_errors(enduser: SoapCodec, body: bytes, reason: str) -> None:
    with pytest.raises(LacUnavailable) as caught:
        enduser.parse(Op.GET_LICENSE, body)
    assert caught.value.code == Code.SOAP_COMM_ERROR
    assert reason in caught.value.message


def test_replies_with_a_dtd_are_refused(enduser: SoapCodec) -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    body += reply("GetLicense", response(0, "&e;"))
    with pytest.raises(LacUnavailable, match="DTD"):
        enduser.parse(Op.GET_LICENSE, body)


def test_values_xml_cannot_carry_are_rejected_before_sending(enduser: SoapCodec) -> None:
    with pytest.raises(LacRejected) as caught:
        enduser.build(Op.CREATE, activation_key="AAAAA\x00", hostid="HOSTNAME=a")
    assert caught.value.code == 108


def test_operations_missing_from_the_wsdl_are_reported(enduser: SoapCodec) -> None:
    assert enduser.has(Op.GET_LICENSE)
    assert not enduser.has(Op.LOGIN)
    with pytest.raises(LacRejected) as caught:
        enduser.build(Op.LOGIN, username="u", password="p")
    assert caught.value.code == 41


def test_loading_never_fetches_remote_schemas(tmp_path: Path) -> None:
    wsdl = ENDUSER_WSDL.read_text().replace(
        '<xsd:complexType name="Soap_Response">',
        '<xsd:import namespace="urn:remote" schemaLocation="http://127.0.0.1:9/remote.xsd"/>'
        '<xsd:complexType name="Soap_Response">',
        1,
    )
    path = tmp_path / "remote.wsdl"
    path.write_text(wsdl)
    with pytest.raises(ValueError, match="may not fetch"):
        SoapCodec.load(path)


def fault_envelope(faultcode: str, text: str = "bad request") -> bytes:
    """A SOAP 1.1 Fault with this faultcode."""
    return (
        f'<e:Envelope xmlns:e="{ENV}"><e:Body><e:Fault><faultcode>{faultcode}</faultcode>'
        f"<faultstring>{text}</faultstring></e:Fault></e:Body></e:Envelope>"
    ).encode()


@pytest.mark.parametrize(
    "faultcode", ["Client", "e:Client", "soapenv:Client", "Client.Auth", " e:Client.A.B "]
)
def test_a_client_fault_is_the_request_rejected(enduser: SoapCodec, faultcode: str) -> None:
    with pytest.raises(LacRequestRejected) as caught:
        enduser.parse(Op.GET_LICENSE, fault_envelope(faultcode, "Function is not valid"))
    assert caught.value.operation == "GetLicense"
    assert caught.value.fault == "Function is not valid"
    assert "GetLicense" in caught.value.message
    assert "Function" not in caught.value.message  # LAC's text is for the log only


@pytest.mark.parametrize("faultcode", ["Server", "e:Server.Busy", "Clientele", "e:VersionMismatch"])
def test_any_other_fault_is_lac_in_trouble(enduser: SoapCodec, faultcode: str) -> None:
    with pytest.raises(LacUnavailable) as caught:
        enduser.parse(Op.GET_LICENSE, fault_envelope(faultcode))
    assert caught.value.code == Code.SOAP_COMM_ERROR


def test_undeclared_reply_fields_are_left_out_and_logged_once(vendor: SoapCodec) -> None:
    obj = (
        '<result_object xsi:type="ns1:Soap_ActivationCounters">'
        "<one_time_activations_left_count>5</one_time_activations_left_count>"
        "<unit_test_undeclared_count>9</unit_test_undeclared_count></result_object>"
    )
    data = reply("GetActivationCounters", response(0, None, obj, "x"), "urn:v4")
    configure_logging("DEBUG", "json")
    try:
        with structlog.testing.capture_logs() as logs:
            first = vendor.parse(Op.ACTIVATION_COUNTERS, data)
            vendor.parse(Op.ACTIVATION_COUNTERS, data)
    finally:
        configure_logging("INFO", "json")  # as the test session's conftest leaves it
    assert first.result_object == {
        "ActivationSubscriptions": None,
        "one_time_activations_left_count": 5,
        "one_time_activations_expiration_date": None,
    }
    noted = [e for e in logs if e["event"] == "soap_reply_undeclared_fields"]
    assert noted == [
        {
            "event": "soap_reply_undeclared_fields",
            "fields": ["unit_test_undeclared_count"],
            "log_level": "debug",
        }
    ]
