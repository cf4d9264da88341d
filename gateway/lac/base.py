"""The port every LAC adapter implements, the result types they share, and their errors.

Exception tree (everything an adapter raises)::

    LacError                  base; ``code`` is a LAC return code (lac-api.md section 7)
    ├── LacRejected           LAC answered with a non-zero code (in-band SOAP, REST 4xx)
    │   └── LacRequestRejected  LAC refused the request's shape (a SOAP ``Client`` fault, or
    │                           an operation the WSDL lacks): a configuration error, code 41
    └── LacUnavailable        no usable answer: connection error, timeout, HTTP 5xx,
                              malformed reply (code 900 before sending, 901 after)
        └── LacAmbiguous      the request may have reached LAC (timeout or reset after
                              sending a mutating call): reconcile before re-submitting

Adapters take the activation key and the HostID set as LAC strings (``TYPE=value,...``),
already validated and normalised by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from gateway.codes import Code


class LacError(Exception):
    """A LAC call did not succeed."""

    def __init__(self, code: int, message: str = "", *, operation: str = "") -> None:
        super().__init__(f"{operation or 'LAC'}: code {code}: {message}")
        self.code = code
        self.message = message
        self.operation = operation


class LacRejected(LacError):
    """LAC answered, with a non-zero return code."""


class LacRequestRejected(LacRejected):
    """LAC refused the request itself (unknown operation, bad argument): never worth a retry.

    ``fault`` is LAC's fault string with the request's values removed, for the log only: the
    caller sees ``message``, which names the operation and nothing LAC sent back.
    """

    def __init__(self, operation: str, faultcode: str, fault: str = "") -> None:
        message = (
            f"LAC rejected the {operation} request (SOAP fault {faultcode}): the gateway's "
            "SOAP operations do not match LAC's; check lac.soap_url and the WSDL"
        )
        super().__init__(Code.SERVICE_DOESNT_EXIST, message, operation=operation)
        self.faultcode = faultcode
        self.fault = fault


class LacUnavailable(LacError):
    """LAC could not be reached or gave no usable answer."""


class LacAmbiguous(LacUnavailable):
    """A mutating call may or may not have reached LAC."""


@dataclass(frozen=True, slots=True)
class IssuedLicense:
    """A generated license file and what is known about it."""

    content: str
    filename: str
    activated_at: datetime | None = None
    expires_at: date | None = None
    maintenance_end: date | None = None


class PollState(StrEnum):
    """Where a license generation stands."""

    PENDING = "pending"
    READY = "ready"


@dataclass(frozen=True, slots=True)
class PollResult:
    """The answer to "is the license ready?"; failures are raised as ``LacRejected``."""

    state: PollState
    license: IssuedLicense | None = None


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """What the gateway tells callers about a license order."""

    activation_key: str
    product: str | None
    activations_used: int | None
    activations_allowed: int | None
    enabled: bool
    product_template_id: int | None = None


class Lac(Protocol):
    """The end-user operations the gateway needs, whatever the transport."""

    transport: str

    async def create(self, activation_key: str, hostid: str) -> None:
        """Request generation (SOAP ``CreateLicenseRequest`` / REST ``PUT``).

        Raises ``LacRejected`` for a non-zero code and ``LacAmbiguous`` when the request may have
        been received.
        """

    async def poll(self, activation_key: str, hostid: str) -> PollResult:
        """Ask whether the license is ready (SOAP ``GetLicense`` / REST license-queue).

        Code 300 (never requested) and generation failures are raised as ``LacRejected``.
        """

    async def fetch(self, activation_key: str, hostid: str) -> IssuedLicense | None:
        """The issued license, or None when LAC has none for this host."""

    async def deactivate(self, activation_key: str, hostid: str) -> None:
        """Deactivate the license (SOAP ``DeactivateLicense`` / REST ``DELETE``)."""

    async def removal_requested(self, activation_key: str, hostid: str) -> bool:
        """Whether the vendor asked this host to remove its license."""

    async def removal_confirm(self, activation_key: str, hostid: str) -> None:
        """Tell LAC the host removed its license file."""


class TokenCache(Protocol):
    """Where the vendor client keeps its LAC login token (Redis, shared by replicas)."""

    async def get_token(self) -> str | None:
        """The cached token, or None."""

    async def set_token(self, token: str, ttl: float) -> None:
        """Store a token for ``ttl`` seconds."""

    async def drop_token(self, token: str) -> None:
        """Forget ``token`` if it is still the cached one."""
