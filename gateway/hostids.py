"""HostIDs, activation keys and activation ids: parsed, checked and put in canonical form.

Canonical form: LAC treats HostID values and activation keys case-insensitively
(lac-api.md sections 1 and 4.1), so the gateway upper-cases both. The canonical HostID set is
what identifies a machine (``activation_id``) and what is sent to LAC (``hostid_string``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gateway.errors import InvalidInput


@runtime_checkable
class HostIdFields(Protocol):
    """A HostID given as a type and a value (the API's HostID object)."""

    type: str
    value: str


MAX_HOSTIDS = 16
MAX_HOSTID_VALUE = 255  # LAC's limit (lac-api.md 4.1)
MAX_HOSTID_STRING = 2048
MAX_BATCH_ITEMS = 100
NOT_SPECIFIED = "NOT_SPECIFIED"
NOT_SPECIFIED_LITERAL = "not_specified"  # the literal LAC uses for a license not locked to a host

_VALUE_CHARS = re.compile(r"^[A-Za-z0-9_.*:\\-]+$")
_USERNAME_CHARS = re.compile(r"^[A-Za-z0-9_.*:\\@-]+$")
_ETHERNET = re.compile(r"^[0-9A-F]{12}$")
_ETHERNET_SEPARATORS = str.maketrans("", "", "-:.")
_ACTIVATION_KEY = re.compile(r"^[A-Z0-9]{5}(?:-[A-Z0-9]{5}){3}$")
ACTIVATION_ID_PATTERN = r"^act_[a-z2-7]{26}$"
_ACTIVATION_ID = re.compile(ACTIVATION_ID_PATTERN)


@dataclass(frozen=True, slots=True, order=True)
class HostId:
    """One canonical HostID: an upper-case type token and its canonical value."""

    type: str
    value: str

    @property
    def lac(self) -> str:
        """The ``TYPE=value`` form LAC expects (``not_specified`` for an unlocked license)."""
        if self.type == NOT_SPECIFIED:
            return NOT_SPECIFIED_LITERAL
        return f"{self.type}={self.value}"


def _plain(value: str) -> str:
    if not _VALUE_CHARS.match(value):
        raise ValueError("allowed characters are A-Z a-z 0-9 _ . * : \\ -")
    return value.upper()


def _username(value: str) -> str:
    if not _USERNAME_CHARS.match(value):
        raise ValueError("allowed characters are A-Z a-z 0-9 _ . * : \\ - @")
    return value.upper()


def _ethernet(value: str) -> str:
    digits = _plain(value).translate(_ETHERNET_SEPARATORS)
    if len(digits) == 16:
        raise ValueError("the 16-character encrypted Ethernet form is no longer accepted by LAC")
    if not _ETHERNET.match(digits):
        raise ValueError("an Ethernet address is 12 hex digits (separators - : . allowed)")
    return digits


def _ip_address(value: str) -> str:
    _plain(value)
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError("not a valid IPv4 or IPv6 address") from None
    return str(address).upper()


def _empty(value: str) -> str:
    if value:
        raise ValueError("not_specified takes no value")
    return value


# HostID types (lac-api.md 4.2): token -> value check returning the canonical value.
HOSTID_TYPES: dict[str, Callable[[str], str]] = {
    "HOSTNAME": _plain,
    "ETHERNET": _ethernet,
    "IPADDRESS": _ip_address,
    "CUSTOM": _plain,
    "USERNAME": _username,
    "HARDDISK": _plain,
    "BIOS": _plain,
    "LONG": _plain,
    "DONGLE_HASPHL": _plain,
    "WIN_PRODUCT_ID": _plain,
    "AWS_INSTANCE_ID": _plain,
    "GCE_ID": _plain,
    "AZURE_ID": _plain,
    "RPI_SN": _plain,
}

# Spellings callers plausibly send for the same types; mapped to the LAC token.
HOSTID_ALIASES: dict[str, str] = {
    "IP_ADDRESS": "IPADDRESS",
    "IP": "IPADDRESS",
    "HARD_DISK": "HARDDISK",
    "MAC": "ETHERNET",
    "DONGLE_HASP_HL": "DONGLE_HASPHL",
    "WINDOWS_PRODUCT_ID": "WIN_PRODUCT_ID",
    "GCE_INSTANCE_ID": "GCE_ID",
    "AZURE_INSTANCE_ID": "AZURE_ID",
}


def make_hostid(type_: str, value: str) -> HostId:
    """One canonical HostId from a type and a value; ValueError says what is wrong."""
    token = type_.strip().upper()
    token = HOSTID_ALIASES.get(token, token)
    value = value.strip()
    if token == NOT_SPECIFIED:
        return HostId(NOT_SPECIFIED, _empty(value))
    check = HOSTID_TYPES.get(token)
    if check is None:
        raise ValueError(f"unknown HostID type {token[:32]!r}")
    if not value:
        raise ValueError("the HostID value is empty")
    if len(value) > MAX_HOSTID_VALUE:
        raise ValueError(f"a HostID value is at most {MAX_HOSTID_VALUE} characters")
    return HostId(token, check(value))


def _parse_string(text: str) -> list[HostId]:
    text = text.strip()
    if text.lower() == NOT_SPECIFIED_LITERAL:
        return [HostId(NOT_SPECIFIED, "")]
    if not text:
        raise ValueError("the HostID string is empty")
    found: list[HostId] = []
    for part in text.split(","):
        type_, sep, value = part.partition("=")
        if not sep:
            raise ValueError("expected TYPE=value (comma-separated for several)")
        found.append(make_hostid(type_, value))
    return found


def _parse_object(item: Mapping[str, object]) -> list[HostId]:
    unknown = set(item) - {"type", "value"}
    if unknown:
        raise ValueError("a HostID object has exactly the members type and value")
    type_, value = item.get("type"), item.get("value", "")
    if not isinstance(type_, str) or not isinstance(value, str):
        raise ValueError("type and value must be strings")
    return [make_hostid(type_, value)]


def _parse_item(item: object) -> list[HostId]:
    if isinstance(item, str):
        return _parse_string(item)
    if isinstance(item, HostIdFields):
        return [make_hostid(item.type, item.value)]
    if isinstance(item, Mapping):
        return _parse_object(item)
    raise ValueError("a HostID is a TYPE=value string or a {type, value} object")


def _check_set(hostids: tuple[HostId, ...]) -> None:
    if not hostids:
        raise InvalidInput.field("hostids", "HostID is missing: give at least one")
    if len(hostids) > MAX_HOSTIDS:
        raise InvalidInput.field("hostids", f"at most {MAX_HOSTIDS} HostIDs")
    if len(hostids) > 1 and any(h.type == NOT_SPECIFIED for h in hostids):
        raise InvalidInput.field("hostids", "not_specified cannot be combined with HostIDs")
    if len(hostid_string(hostids)) > MAX_HOSTID_STRING:
        raise InvalidInput.field("hostids", f"at most {MAX_HOSTID_STRING} characters in all")


def normalise_hostids(
    items: Sequence[str | Mapping[str, object] | HostIdFields],
) -> tuple[HostId, ...]:
    """The canonical HostID set: validated, duplicates dropped, sorted.

    Raises InvalidInput naming every offending item (``hostids[2]``).
    """
    if isinstance(items, str):
        items = [items]
    found: set[HostId] = set()
    problems: list[dict[str, str]] = []
    for index, item in enumerate(items[: MAX_HOSTIDS + 1]):
        try:
            found.update(_parse_item(item))
        except ValueError as exc:
            problems.append({"field": f"hostids[{index}]", "message": str(exc)})
    if len(items) > MAX_HOSTIDS:
        problems.append({"field": "hostids", "message": f"at most {MAX_HOSTIDS} HostIDs"})
    if problems:
        raise InvalidInput("invalid HostID", errors=problems)
    hostids = tuple(sorted(found))
    _check_set(hostids)
    return hostids


def hostid_string(hostids: Iterable[HostId]) -> str:
    """The canonical LAC string ``T1=v1,T2=v2`` (sorted, so order-independent)."""
    return ",".join(h.lac for h in sorted(set(hostids)))


def normalise_activation_key(raw: str) -> str:
    """The canonical activation key: four groups of five alphanumerics, upper-case."""
    key = raw.strip().upper()
    if not _ACTIVATION_KEY.match(key):
        raise InvalidInput.field(
            "activation_key", "expected four groups of five letters or digits, like AAAAA-BBBBB-…"
        )
    return key


def activation_id(activation_key: str, hostids: Iterable[HostId]) -> str:
    """The stable, URL-safe id of one (activation key, HostID set) pair."""
    material = f"{activation_key}\n{hostid_string(hostids)}".encode()
    digest = base64.b32encode(hashlib.sha256(material).digest()).decode("ascii")
    return "act_" + digest[:26].lower()


def is_activation_id(text: str) -> bool:
    """Whether ``text`` has the shape of an activation id (for route parameters)."""
    return _ACTIVATION_ID.match(text) is not None


def mask_key(activation_key: str) -> str:
    """The activation key as it may appear in logs: first and last group only."""
    groups = activation_key.strip().split("-")
    if len(groups) == 4 and all(len(g) == 5 for g in groups):
        return f"{groups[0]}-*****-*****-{groups[3]}"
    return "*****"


def host_hash(hostids: Iterable[HostId]) -> str:
    """A short digest of the HostID set, for logs and audit without the values."""
    return hashlib.sha256(hostid_string(hostids).encode()).hexdigest()[:16]


# --- one (activation key, HostID set) pair --------------------------------------------------

TARGETS_REMEMBERED = 16_384  # normalised (key, HostIDs) pairs kept per process


class Target:
    """One normalised (activation key, HostID set) pair and its activation id."""

    __slots__ = ("aid", "host_hash", "hostid", "key")

    def __init__(self, activation_key: str, hostids: Sequence[str | HostIdFields]) -> None:
        if all(isinstance(h, str) for h in hostids):
            fields = _normalised(activation_key, tuple(str(h) for h in hostids))
        else:
            fields = _normalise(activation_key, hostids)
        self.key, self.hostid, self.host_hash, self.aid = fields


def _normalise(
    activation_key: str, items: Sequence[str | Mapping[str, object] | HostIdFields]
) -> tuple[str, str, str, str]:
    """(key, LAC HostID string, HostID digest, activation id); InvalidInput when malformed."""
    key = normalise_activation_key(activation_key)
    parsed = normalise_hostids(items)
    return key, hostid_string(parsed), host_hash(parsed), activation_id(key, parsed)


@functools.lru_cache(maxsize=TARGETS_REMEMBERED)
def _normalised(activation_key: str, hostids: tuple[str, ...]) -> tuple[str, str, str, str]:
    """``_normalise`` of string HostIDs, remembered: a fleet asks after the same pairs all day."""
    return _normalise(activation_key, hostids)
