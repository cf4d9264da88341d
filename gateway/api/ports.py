"""What the HTTP layer needs from the rest of the gateway, as protocols it depends on.

Failures are raised as ``GatewayError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from gateway.models import (
    ActivationCounters,
    ActivationRequest,
    ActivationResponse,
    BatchRequest,
    BatchResponse,
    JobView,
    OrderResponse,
    RemovalConfirmRequest,
)
from gateway.store.idempotency import IdemState
from gateway.store.licenses import LicenseRecord


class Activations(Protocol):
    """Activating: ``POST /v1/activations``, its batch and the status of one activation."""

    async def activate(
        self, req: ActivationRequest, *, wait: float, caller: str
    ) -> ActivationResponse:
        """Return the license if ready within ``wait`` seconds, else the pending activation."""
        ...

    async def status(self, activation_id: str, *, wait: float) -> ActivationResponse:
        """State of one activation, long-polling up to ``wait``; ``NotFound`` if unknown."""
        ...

    async def batch(self, req: BatchRequest, *, wait: float, caller: str) -> BatchResponse:
        """Several activations at once, one result per item."""
        ...


class Licenses(Protocol):
    """Issued licenses: fetch, deactivate, the vendor's removal request, purge."""

    async def fetch(self, activation_key: str, hostids: list[str]) -> ActivationResponse:
        """The issued license for a host, from cache or LAC."""
        ...

    async def still_held(self, aid: str, record: LicenseRecord) -> bool:
        """Whether ``record`` is still the cached license of activation ``aid`` (one Redis read);
        if so this process keeps it near again. Raises RedisError when Redis does not answer."""
        ...

    async def deactivate(
        self, activation_key: str, hostids: list[str], *, caller: str, any_pair: bool
    ) -> None:
        """Deactivate a host's license and forget what is cached for it.

        Raises ``Forbidden`` when ``caller`` did not activate the pair, unless ``any_pair``.
        """
        ...

    async def removal_requested(self, activation_key: str, hostids: list[str]) -> bool:
        """Whether the vendor asked this host to remove its license."""
        ...

    async def removal_confirm(
        self, req: RemovalConfirmRequest, activation_key: str, *, caller: str, any_pair: bool
    ) -> None:
        """Record that the host removed its license file (the same rule as ``deactivate``)."""
        ...

    async def record_refusal(
        self, action: str, activation_key: str, hostids: Sequence[str], caller: str
    ) -> None:
        """Audit a request refused for its API key's scopes; never raises."""
        ...

    async def purge(self, activation_key: str, hostids: list[str]) -> bool:
        """Drop the cached license of a host; True if there was one."""
        ...


class Admin(Protocol):
    """Orders, LAC counters, audit events, jobs in flight and readiness."""

    async def order(self, activation_key: str) -> OrderResponse:
        """Summary of the license order behind an activation key."""
        ...

    async def jobs(self, limit: int) -> list[JobView]:
        """Pending generations, at most ``limit``."""
        ...

    async def audit_events(self, limit: int, before: str | None = None) -> list[dict[str, str]]:
        """Audit events, newest first, older than the event id ``before``."""
        ...

    async def counters(self) -> ActivationCounters:
        """LAC activation counters of the vendor account."""
        ...

    async def ready(self) -> dict[str, object]:
        """Readiness detail; raises ``ServiceUnavailable`` when not ready."""
        ...

    async def probe_redis(self) -> None:
        """The Redis write probe, recorded in the metrics; raises when Redis fails it."""
        ...


class IdempotencyStore(Protocol):
    """Where Idempotency-Key records live (``gateway.store.idempotency.Idempotency``)."""

    async def begin_idempotent(self, scope: str, key: str, fingerprint: str) -> IdemState:
        """Start a request under a key, or report it in progress, mismatched or done."""
        ...

    async def complete_idempotent(  # noqa: PLR0917 - mirrors Idempotency.complete_idempotent
        self,
        scope: str,
        key: str,
        fingerprint: str,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
    ) -> bool:
        """Keep the response so that a repeat of the request gets it again."""
        ...

    async def abandon_idempotent(self, scope: str, key: str) -> bool:
        """Release a key whose request produced no answer worth replaying."""
        ...


class RateCounter(Protocol):
    """Where rate-limit windows are counted (``gateway.store.ratelimit.RateWindows``)."""

    async def rate_hit(self, scope: str, window: float, count: int = 1) -> tuple[int, float]:
        """Count ``count`` requests; (requests so far in this window, seconds until it resets)."""
        ...


class Webhooks(Protocol):
    """Webhook deliveries for the admin routes (``gateway.webhooks.admin.WebhookAdmin``)."""

    async def deliveries(
        self, status: str, endpoint: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, object]], str | None]:
        """A page of deliveries, newest first, and the next page's cursor (None: the last)."""
        ...

    async def retry(self, did: str) -> dict[str, object]:
        """Start a delivery over now, with its webhook id."""
        ...
