"""HostID strings as LAC reads them: parsing, validation codes and the canonical form."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from lacsandbox.codetable import Code

NOT_SPECIFIED = "not_specified"
"""The literal LAC uses for a license that is not locked to a host."""

# LM-X HostID type tokens (lac-api.md section 4.2) and the display names REST shows for them.
HOSTID_TYPES: dict[str, str] = {
    "HOSTNAME": "Hostname",
    "ETHERNET": "Ethernet",
    "IPADDRESS": "IP Address",
    "CUSTOM": "Custom",
    "USERNAME": "Username",
    "HARDDISK": "Hard Disk",
    "BIOS": "Bios",
    "LONG": "Long",
    "DONGLE_HASPHL": "Dongle HASP HL",
    "WIN_PRODUCT_ID": "Windows Product ID",
    "AWS_INSTANCE_ID": "AWS Instance ID",
    "GCE_ID": "GCE Instance ID",
    "AZURE_ID": "Azure Instance ID",
    "RPI_SN": "Raspberry Pi Serial",
}

MAX_VALUE_LENGTH = 255
_VALUE = re.compile(r"[A-Za-z0-9_.*:\\-]+")
_USERNAME_VALUE = re.compile(r"[A-Za-z0-9_.*:\\@-]+")
_TYPE = re.compile(r"[A-Za-z_]+")
_ETHERNET_SEPARATORS = str.maketrans("", "", "-:")
_HEX12 = re.compile(r"[0-9A-F]{12}")


@dataclass(frozen=True, slots=True, order=True)
class HostId:
    """One normalised ``TYPE=value`` pair."""

    type: str
    value: str

    @property
    def display_name(self) -> str:
        """The name REST shows for the type (``Ethernet``, ``IP Address`` ...)."""
        return HOSTID_TYPES.get(self.type, self.type.title())

    def __str__(self) -> str:
        return f"{self.type}={self.value}"


class HostIdError(ValueError):
    """A HostID string LAC would refuse; ``code`` is the LAC return code."""

    def __init__(self, code: Code, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def _normalise_value(kind: str, value: str) -> str:
    if kind == "ETHERNET":
        digits = value.translate(_ETHERNET_SEPARATORS).upper()
        if not _HEX12.fullmatch(digits):
            raise HostIdError(Code.LAC_HOSTID_VALUE_INVALID, "Ethernet needs 12 hex digits")
        return digits
    pattern = _USERNAME_VALUE if kind == "USERNAME" else _VALUE
    if len(value) > MAX_VALUE_LENGTH or not pattern.fullmatch(value):
        raise HostIdError(Code.LAC_HOSTID_VALUE_INVALID, "HostID value has invalid characters")
    # LAC compares HostID values case-insensitively.
    return value.lower()


# A fleet repeats the same few HostID strings; parsing each once keeps polling cheap.
@lru_cache(maxsize=65536)
def parse_hostids(raw: str | None) -> tuple[HostId, ...]:
    """Parse ``TYPE=value[,TYPE=value...]``; raises ``HostIdError`` with LAC's code.

    Missing (107) when empty, wrong format (20) when a part is not ``TYPE=value``, invalid
    value (106) for bad characters or a malformed Ethernet address. Types are not checked
    here: which types are acceptable depends on the order (see ``select_hostids``).
    """
    text = (raw or "").strip()
    if not text:
        raise HostIdError(Code.LAC_HOSTID_MISSING, "no HostID given")
    seen: dict[HostId, None] = {}
    for part in text.split(","):
        kind, sep, value = part.strip().partition("=")
        if not sep or not value or not _TYPE.fullmatch(kind):
            raise HostIdError(Code.LAC_WRONG_HOSTID_FORMAT, "HostID must be TYPE=value")
        kind = kind.upper()
        seen[HostId(kind, _normalise_value(kind, value))] = None
    return tuple(seen)


def select_hostids(
    hostids: tuple[HostId, ...], allowed: Collection[str], min_count: int, max_count: int
) -> tuple[HostId, ...]:
    """The HostIDs an order locks to: the first suitable ones, in canonical (sorted) order.

    LAC picks the first suitable values of a comma list; none suitable is 100, fewer than the
    order's minimum is 107.
    """
    usable = allowed or HOSTID_TYPES
    chosen = [h for h in hostids if h.type in usable][:max_count]
    if not chosen:
        raise HostIdError(Code.LAC_HOSTIDTYPE_NOT_SUPPORTED, "no HostID of a supported type")
    if len(chosen) < min_count:
        raise HostIdError(Code.LAC_HOSTID_MISSING, f"the order needs {min_count} HostIDs")
    return tuple(sorted(chosen))


def canonical(hostids: tuple[HostId, ...]) -> str:
    """The one string that names a HostID set (sorted, normalised, comma-joined)."""
    return ",".join(map(str, hostids))
