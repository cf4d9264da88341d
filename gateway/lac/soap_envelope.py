"""Request envelopes in the rpc/encoded shape of LAC's documented examples (a zeep egress plugin).

zeep writes neither ``soapenv:encodingStyle`` nor ``xsi:type``, even for a ``use="encoded"``
binding; LAC's example requests carry both (lac-api.md sections 2.2 and 12a). The plugin runs
inside zeep's ``create_message``, so the codec's envelope templates, copied from that message,
and zeep's own envelopes come out byte-identical.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {"soapenv": SOAP_ENV, "xsd": XSD, "xsi": XSI}
_HEADER = f"{{{SOAP_ENV}}}Header"
_BODY = f"{{{SOAP_ENV}}}Body"
_ENCODING_STYLE = f"{{{SOAP_ENV}}}encodingStyle"
_XSI_TYPE = f"{{{XSI}}}type"


def input_parts(operation: Any) -> dict[str, Any]:
    """Part name -> zeep element of a zeep operation's input, in the WSDL's order."""
    body = getattr(getattr(operation, "input", None), "body", None)
    elements = getattr(getattr(body, "type", None), "elements", None) or ()
    return dict(elements)


def part_types(operation: Any) -> dict[str, str]:
    """Part name -> ``xsd:<type>`` for the input parts of a zeep operation with schema types."""
    types: dict[str, str] = {}
    for name, element in input_parts(operation).items():
        qname = getattr(element.type, "qname", None)
        if qname is not None and qname.namespace == XSD:
            types[name] = f"xsd:{qname.localname}"
    return types


def encode(envelope: Any, types: dict[str, str]) -> Any:
    """``envelope`` as LAC's examples write it: prefixes declared once, Header, encoded body."""
    # A new root: lxml cannot add namespace declarations to an existing element, and the
    # xsi:type values name the xsd prefix, which must be in scope.
    root = etree.Element(envelope.tag, nsmap=_NSMAP)
    if envelope.find(_HEADER) is None:
        etree.SubElement(root, _HEADER)
    for child in list(envelope):
        root.append(child)
    body = root.find(_BODY)
    for operation in body if body is not None else ():
        operation.set(_ENCODING_STYLE, SOAP_ENC)
        for param in operation:
            kind = types.get(param.tag) if isinstance(param.tag, str) else None
            if kind is not None:
                param.set(_XSI_TYPE, kind)
    return root


class EncodedEnvelope:
    """zeep plugin: every request envelope it builds goes through ``encode``."""

    def egress(
        self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any
    ) -> tuple[Any, Any]:
        """Rewrite an outgoing envelope (zeep's plugin hook)."""
        del binding_options  # part of zeep's hook signature; the shape needs none
        return encode(envelope, part_types(operation)), http_headers

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> tuple[Any, Any]:
        """Replies pass unchanged (zeep's plugin hook)."""
        del operation
        return envelope, http_headers
