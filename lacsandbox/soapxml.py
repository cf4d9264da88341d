"""SOAP 1.1 rpc/encoded text for the sandbox: lenient request parsing, templated replies.

Replies are assembled from string templates with escaping rather than built as trees: the
envelope is fixed, and this keeps the sandbox cheap under benchmark load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)

# XML 1.0 cannot carry most control characters; drop them rather than emit a broken reply.
_DROP_CONTROL = {c: None for c in range(32) if c not in (9, 10, 13)}
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"} | _DROP_CONTROL)
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"} | _DROP_CONTROL
)

_ENVELOPE_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"'
    ' xmlns:ns1="{ns}" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/"'
    ' SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
    "<SOAP-ENV:Body>"
)
_ENVELOPE_CLOSE = "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
_FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
    "<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>{code}</faultcode>"
    "<faultstring>{text}</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
)


def text(value: str) -> str:
    """Escape character data."""
    return value.translate(_TEXT_ESCAPES)


def attr(value: str) -> str:
    """Escape an attribute value (double-quoted)."""
    return value.translate(_ATTR_ESCAPES)


@dataclass(frozen=True, slots=True)
class SoapCall:
    """One parsed request: the operation's local name and namespace, and its parameters."""

    operation: str
    namespace: str
    params: dict[str, str | None]


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse_call(body: bytes) -> SoapCall | None:
    """Read a request leniently (any prefix or namespace, ``xsi:type`` optional); None if bad."""
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError:
        return None
    if _local(root.tag) != "Envelope":
        return None
    soap_body = next((c for c in root if _local(c.tag) == "Body"), None)
    if soap_body is None:
        return None
    op = next((c for c in soap_body if isinstance(c.tag, str)), None)
    if op is None:
        return None
    params: dict[str, str | None] = {}
    for child in op:
        name = _local(child.tag)
        if name:
            nil = child.get(XSI_NIL, "").lower() in ("true", "1")
            params[name] = None if nil else (child.text or "")
    return SoapCall(_local(op.tag), etree.QName(op.tag).namespace or "", params)


def fault(code: str, message: str) -> bytes:
    """A SOAP 1.1 Fault envelope (``code`` is ``Client`` or ``Server``, or a prefixed QName)."""
    qname = code if ":" in code else f"SOAP-ENV:{code}"
    return _FAULT.format(code=text(qname), text=text(message)).encode()


def string(name: str, value: str | None) -> str:
    """An ``xsd:string`` field, nil when empty."""
    if not value:
        return f'<{name} xsi:nil="true"/>'
    return f'<{name} xsi:type="xsd:string">{text(value)}</{name}>'


def integer(name: str, value: int) -> str:
    """An ``xsd:int`` field."""
    return f'<{name} xsi:type="xsd:int">{value}</{name}>'


def boolean(name: str, value: bool) -> str:
    """An ``xsd:boolean`` field."""
    return f'<{name} xsi:type="xsd:boolean">{"true" if value else "false"}</{name}>'


def timestamp(name: str, value: datetime | date | None) -> str:
    """A LAC time string (``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DD``), nil when unknown."""
    if value is None:
        return string(name, None)
    if isinstance(value, datetime):
        return string(name, value.strftime("%Y-%m-%d %H:%M:%S"))
    return string(name, value.isoformat())


def struct(name: str, type_name: str, fields: str) -> str:
    """A ``ns1:<type>`` structure."""
    return f'<{name} xsi:type="ns1:{type_name}">{fields}</{name}>'


def array(name: str, item_type: str, items: list[str]) -> str:
    """A SOAP-encoded array of ``<item>`` structures of ``ns1:<item_type>``."""
    body = "".join(struct("item", item_type, item) for item in items)
    return (
        f'<{name} xsi:type="ns1:ArrayOf{item_type}"'
        f' SOAP-ENC:arrayType="ns1:{item_type}[{len(items)}]">{body}</{name}>'
    )


def reply(namespace: str, operation: str, return_type: str, fields: str) -> bytes:
    """The response envelope: ``ns1:<op>Response`` holding one ``return`` of ``return_type``."""
    head = _ENVELOPE_OPEN.replace("{ns}", attr(namespace), 1)
    body = (
        f'<ns1:{operation}Response><return xsi:type="ns1:{return_type}">{fields}</return>'
        f"</ns1:{operation}Response>"
    )
    return (head + body + _ENVELOPE_CLOSE).encode()


def result_fields(code: int, message: str) -> str:
    """The two fields every ``Soap_Response*`` carries."""
    return integer("result_code", code) + string("result_string", message)


_WSDL = "http://schemas.xmlsoap.org/wsdl/"


def wsdl_without(wsdl: str, operation: str) -> str:
    """``wsdl`` with ``operation`` gone: its messages, port type and binding entries."""
    root = etree.fromstring(wsdl.encode(), parser=_PARSER)
    doomed = {f"{operation}Request", f"{operation}Response", operation}
    for tag in ("message", "portType/{%s}operation", "binding/{%s}operation"):
        path = f"{{{_WSDL}}}" + (tag % _WSDL if "%s" in tag else tag)
        for node in root.findall(path):
            parent = node.getparent()
            if node.get("name") in doomed and parent is not None:
                parent.remove(node)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
