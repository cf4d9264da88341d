"""The gateway's table of SOAP operations (``soap_ops.py``) held against a loaded WSDL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gateway.lac.soap_ops import SOAP_OPS, Op


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One operation of the table that the WSDL lacks or declares with other arguments."""

    operation: str
    message: str
    missing: bool
    """True: the WSDL has no such operation; False: its arguments differ."""


def compare(
    signatures: Mapping[str, Sequence[str]], ops: Iterable[Op], source: str
) -> tuple[Mismatch, ...]:
    """Every operation of ``ops`` the WSDL (``source``: shipped or live) does not match, by name."""
    found: list[Mismatch] = []
    for op in ops:
        spec = SOAP_OPS[op]
        expected = tuple(spec.fields.values())
        actual = signatures.get(spec.name)
        if actual is None:
            there = ", ".join(sorted(signatures)) or "none"
            text = f"{spec.name}: not in the {source} WSDL; operations there: {there}"
            found.append(Mismatch(spec.name, text, missing=True))
        elif tuple(actual) != expected:
            text = (
                f"{spec.name}: the gateway sends ({', '.join(expected)}); "
                f"the {source} WSDL declares ({', '.join(actual) or 'no arguments'})"
            )
            found.append(Mismatch(spec.name, text, missing=False))
    return tuple(found)
