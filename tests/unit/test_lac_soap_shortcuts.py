"""The SOAP codec's shortcuts give exactly what zeep gives, and leave the rest to zeep."""

from __future__ import annotations

import pytest

from gateway.lac.base import LacError, LacRejected
from gateway.lac.soap_codec import ENDUSER_WSDL, VENDOR_WSDL, SoapCodec, SoapResult
from gateway.lac.soap_ops import Op

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ENDUSER_NS = "https://license.x-formation.com/soap/type/enduser/version/2"
LICENSE = "# Generation Time: 2024-01-01 12:00:00 GMT\nFEATURE f\n{\nVENDOR=A &amp; B\n}\n"


@pytest.fixture(scope="module")
def codecs() -> tuple[SoapCodec, SoapCodec]:
    """The end-user codec with its shortcuts, and the same WSDL through zeep alone."""
    fast = SoapCodec.load(ENDUSER_WSDL)
    return fast, SoapCodec(fast._client, shortcuts=False)


@pytest.fixture(scope="module")
def vendor_codecs() -> tuple[SoapCodec, SoapCodec]:
    fast = SoapCodec.load(VENDOR_WSDL)
    return fast, SoapCodec(fast._client, shortcuts=False)


def reply(operation: str, inner: str, namespace: str = ENDUSER_NS) -> bytes:
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{namespace}"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/"'
        ' SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
        f"<SOAP-ENV:Body><ns1:{operation}Response>{inner}</ns1:{operation}Response>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def outcome(codec: SoapCodec, op: Op, body: bytes) -> SoapResult | tuple[str, int, str]:
    try:
        return codec.parse(op, body)
    except LacError as exc:
        return type(exc).__name__, exc.code, exc.message


RETURNS = [
    f'<return xsi:type="ns1:Soap_Response"><result_code xsi:type="xsd:int">0</result_code>'
    f'<result_string xsi:type="xsd:string">{LICENSE}</result_string></return>',
    '<return><result_code>1</result_code><result_string xsi:nil="true"/></return>',
    "<return><result_code>0</result_code><result_string></result_string></return>",
    "<return><result_code> 7 </result_code></return>",
    "<return><result_code>+3</result_code><result_string>  a &amp; b\n</result_string></return>",
    "<return><result_code>x</result_code></return>",
    "<return><result_code></result_code><result_string>a</result_string></return>",
    "<return><result_code>1e3</result_code></return>",
    '<return><result_code xsi:nil="1">3</result_code><result_string xsi:nil="1">a</result_string>'
    "</return>",
    "<return><result_code>3</result_code><result_string>a<![CDATA[<x>]]>b</result_string></return>",
    "<return><result_code>3</result_code><result_string>a<!-- c -->b</result_string></return>",
    "<return><result_code>3</result_code><result_string>a<b>c</b>d</result_string></return>",
    "<return><result_code>3</result_code><unknown>1</unknown></return>",
    "<return><result_code>3</result_code><result_code>4</result_code></return>",
    "<return><result_string>no code</result_string></return>",
    "<other><result_code>3</result_code></other>",
    "<return><result_code>3</result_code></return><return><result_code>4</result_code></return>",
    "<ns1:return><result_code>3</result_code></ns1:return>",
    "<return><ns1:result_code>3</ns1:result_code></return>",
    "<return><result_code>99999999999999999999</result_code></return>",
    "<!-- before --><return><result_code>5</result_code></return>",
    "<return>\n  <result_code>5</result_code>\n"
    "  <result_string>\u00e4\u2028</result_string>\n</return>",
]


@pytest.mark.parametrize("inner", RETURNS)
@pytest.mark.parametrize("op", [Op.GET_LICENSE, Op.CREATE])
def test_replies_read_without_zeep_match_zeep(
    codecs: tuple[SoapCodec, SoapCodec], op: Op, inner: str
) -> None:
    fast, zeep_only = codecs
    name = "GetLicense" if op is Op.GET_LICENSE else "CreateLicenseRequest"
    body = reply(name, inner)
    assert outcome(fast, op, body) == outcome(zeep_only, op, body)


def test_multi_references_are_resolved_by_zeep(codecs: tuple[SoapCodec, SoapCodec]) -> None:
    fast, zeep_only = codecs
    body = (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{ENDUSER_NS}">'
        '<SOAP-ENV:Body><ns1:GetLicenseResponse><return href="#id1"/></ns1:GetLicenseResponse>'
        '<multiRef id="id1"><result_code>0</result_code><result_string>x</result_string>'
        "</multiRef></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()
    assert outcome(fast, Op.GET_LICENSE, body) == outcome(zeep_only, Op.GET_LICENSE, body)


def test_vendor_replies_match_zeep(vendor_codecs: tuple[SoapCodec, SoapCodec]) -> None:
    fast, zeep_only = vendor_codecs
    login = reply(
        "Login",
        "<return><result_code>0</result_code><result_string xsi:nil='true'/>"
        "<token>0123abcd</token></return>",
        "urn:v4",
    )
    counters = reply(
        "GetActivationCounters",
        "<return><result_code>0</result_code><result_object>"
        "<one_time_activations_left_count>5</one_time_activations_left_count>"
        "</result_object></return>",
        "urn:v4",
    )
    assert outcome(fast, Op.LOGIN, login) == outcome(zeep_only, Op.LOGIN, login)
    assert fast.parse(Op.LOGIN, login).token == "0123abcd"
    assert outcome(fast, Op.ACTIVATION_COUNTERS, counters) == outcome(
        zeep_only, Op.ACTIVATION_COUNTERS, counters
    )


@pytest.mark.parametrize(
    ("key", "hostid"),
    [
        ("AAAAA-BBBBB-CCCCC-00001", "HOSTNAME=build01"),
        ("a&<b>\"'", "ETHERNET=AABBCCDDEEFF,IPADDRESS=10.0.0.5"),
        ("\u00e4\u2028x", "  spaced  "),
        ("", "HOSTNAME="),
        ("a\rb\nc\td", "HOSTNAME=]]>&amp;"),
        ("lacgw-field-1-", "lacgw-field-0-"),
    ],
)
def test_envelopes_are_the_bytes_zeep_builds(
    codecs: tuple[SoapCodec, SoapCodec], key: str, hostid: str
) -> None:
    fast, zeep_only = codecs
    for op in (Op.CREATE, Op.GET_LICENSE, Op.DEACTIVATE):
        args = {"activation_key": key, "hostid": hostid}
        assert fast.build(op, **args) == zeep_only.build(op, **args)


def test_vendor_envelopes_with_numbers_are_the_bytes_zeep_builds(
    vendor_codecs: tuple[SoapCodec, SoapCodec],
) -> None:
    fast, zeep_only = vendor_codecs
    args: dict[str, str | int] = {"token": "t0k", "activation_key": "K-1", "offset": 100}
    assert fast.build(Op.FIND_ORDER, **args) == zeep_only.build(Op.FIND_ORDER, **args)
    login = {"username": "demo", "password": "p&ss"}
    assert fast.build(Op.LOGIN, **login) == zeep_only.build(Op.LOGIN, **login)


def test_a_missing_argument_is_still_refused(codecs: tuple[SoapCodec, SoapCodec]) -> None:
    fast, _ = codecs
    with pytest.raises(LacRejected) as caught:
        fast.build(Op.CREATE, activation_key="AAAAA")
    assert caught.value.code == 108


@pytest.mark.parametrize("value", ["AAAAA\x00", "AAAAA\x01", "\ud800"])
def test_values_xml_cannot_carry_are_refused_on_both_paths(
    codecs: tuple[SoapCodec, SoapCodec], value: str
) -> None:
    for codec in codecs:
        with pytest.raises(LacRejected) as caught:
            codec.build(Op.CREATE, activation_key=value, hostid="HOSTNAME=a")
        assert caught.value.code == 108
