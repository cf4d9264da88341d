"""Issued licenses: fetch one, deactivate it, the vendor's removal request, an admin's purge.

Deactivation and removal confirmation are the key's that activated the pair (or an admin's, or
a ``deactivate_any`` key's): a refusal is audited like every outcome.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from redis.exceptions import RedisError

from gateway.codes import Code
from gateway.errors import Forbidden, GatewayError, InvalidInput, NotFound
from gateway.hostids import Target, mask_key, normalise_activation_key
from gateway.lac.base import Lac, LacRejected, LacUnavailable
from gateway.metrics import Metrics
from gateway.models import ActivationResponse, RemovalConfirmRequest
from gateway.service.revalidation import Revalidator
from gateway.service.shared import (
    Auditor,
    count_lookup,
    lac_call,
    lac_failure,
    license_body,
    ready,
)
from gateway.store.activations import ActivationSteps
from gateway.store.activators import Activators
from gateway.store.licenses import CachedLicense, LicenseRecord, Licenses
from gateway.webhooks.events import DEACTIVATED, REMOVAL_CONFIRMED, WebhookEvents

log = structlog.get_logger("gateway.service")


class _Unparsed(Target):
    """A refused request's target whose key or HostIDs did not parse: masked key, no host."""

    def __init__(self, activation_key: str) -> None:  # the parse failed: no super().__init__
        try:
            key = normalise_activation_key(activation_key)
        except InvalidInput:
            key = ""  # masked as "*****"
        self.key, self.hostid, self.host_hash, self.aid = key, "", "", ""


class LicenseService:
    """What the license routes do, on the license cache, the activator records and LAC."""

    def __init__(
        self,
        lac: Lac,
        metrics: Metrics,
        *,
        licenses: Licenses,
        steps: ActivationSteps,
        activators: Activators,
        auditor: Auditor,
        revalidator: Revalidator,
        events: WebhookEvents,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lac = lac
        self.metrics = metrics
        self.licenses = licenses
        self.steps = steps
        self.activators = activators
        self.events = events
        self.auditor = auditor
        self.revalidator = revalidator
        self.clock = clock
        self._renewals: set[asyncio.Future[Any]] = set()

    async def fetch(self, activation_key: str, hostids: list[str]) -> ActivationResponse:
        """The issued license for a host: from the cache, else from LAC (then cached)."""
        target = Target(activation_key, hostids)
        cached = await self.licenses.get_license(target.aid, now=self.clock())
        count_lookup(self.metrics, cached)
        if cached is not None and cached.fresh:
            self.revalidator.consider(target, cached)
            return self._ready(target.aid, cached, "cache")
        try:
            issued = await self.lac.fetch(target.key, target.hostid)
        except LacUnavailable as exc:
            if cached is not None:
                return self._ready(target.aid, cached, "cache", stale=True)
            raise lac_failure(exc) from exc
        except LacRejected as exc:
            raise lac_failure(exc) from exc
        if issued is None:
            raise NotFound("LAC has no license for this activation key and host")
        body, now = license_body(issued), self.clock()
        await self.licenses.put_license(target.aid, body, now=now)
        return self._ready(target.aid, self.licenses.as_stored(body, now), "lac")

    def _ready(
        self, aid: str, cached: CachedLicense, source: str, *, stale: bool = False
    ) -> ActivationResponse:
        return ready(aid, cached, source, self.licenses.cache, self.clock(), stale=stale)

    async def still_held(self, aid: str, record: LicenseRecord) -> bool:
        """Whether ``record`` is still the cached license of ``aid`` (it is kept near again).

        False once it is due for revalidation: ``fetch`` is where that starts.
        """
        if self.revalidator.due(record.at(self.clock())):
            return False
        return await self.licenses.still_held(aid, record)

    def renew_ahead(self, aid: str, record: LicenseRecord) -> None:
        """Confirm in the background a near-cache entry about to run out (``on_ending``).

        Held, it is kept again before its time is up, so that no request waits for the
        confirmation; otherwise, or with Redis away, it runs out and the next read decides.
        """
        renewal = asyncio.ensure_future(self._renew(aid, record))
        self._renewals.add(renewal)
        renewal.add_done_callback(self._renewals.discard)

    async def _renew(self, aid: str, record: LicenseRecord) -> None:
        try:
            await self.still_held(aid, record)
        except RedisError:
            return  # it runs out; a request then confirms it or reads it again

    async def close(self) -> None:
        """Stop the renewals still on their way."""
        for renewal in list(self._renewals):
            renewal.cancel()
        await asyncio.gather(*self._renewals, return_exceptions=True)

    async def deactivate(
        self, activation_key: str, hostids: list[str], *, caller: str = "", any_pair: bool = False
    ) -> None:
        """Deactivate at LAC, then forget the cached license and any job.

        Only the key that activated the pair may, unless ``any_pair`` (admin, deactivate_any).
        """
        target = Target(activation_key, hostids)
        await self._withdraw(
            target, "deactivation", "deactivated", self.lac.deactivate, caller, any_pair
        )
        log.info("license_deactivated", key=mask_key(target.key), caller=caller)

    async def removal_requested(self, activation_key: str, hostids: list[str]) -> bool:
        """Whether the vendor asked this host to remove its license."""
        target = Target(activation_key, hostids)
        return await lac_call(self.lac.removal_requested(target.key, target.hostid))

    async def removal_confirm(
        self,
        req: RemovalConfirmRequest,
        activation_key: str,
        *,
        caller: str = "",
        any_pair: bool = False,
    ) -> None:
        """Tell LAC the host removed its license file; drop the cached copy.

        Only the key that activated the pair may, unless ``any_pair`` (admin, deactivate_any).
        """
        target = Target(activation_key, req.hostids)
        await self._withdraw(
            target, "removal", "confirmed", self.lac.removal_confirm, caller, any_pair
        )
        log.info("license_removal_confirmed", key=mask_key(target.key), caller=caller)

    async def record_refusal(
        self, action: str, activation_key: str, hostids: Sequence[str], caller: str
    ) -> None:
        """Audit a request refused for its API key's scopes (best effort; never raises)."""
        try:
            target = Target(activation_key, hostids)
        except InvalidInput:
            # Refused before its input was checked: the trail keeps what can be read safely.
            target = _Unparsed(activation_key)
        await self.auditor.record(action, target, caller, "refused", None)

    async def purge(self, activation_key: str, hostids: list[str]) -> bool:
        """Drop the cached license and rejection of one activation (admin)."""
        target = Target(activation_key, hostids)
        return await self.licenses.purge(target.aid) > 0

    async def _withdraw(  # noqa: PLR0917 - one call site per withdrawal, read side by side
        self,
        target: Target,
        action: str,
        outcome: str,
        call: Callable[[str, str], Awaitable[None]],
        caller: str,
        any_pair: bool,
    ) -> None:
        """A deactivation or removal confirmation: allowed, sent to LAC, forgotten, audited."""
        await self._check_activator(target, action, caller, any_pair=any_pair)
        try:
            await lac_call(call(target.key, target.hostid))
        except GatewayError as exc:
            await self.auditor.record(action, target, caller, "failed", exc.lac_code)
            raise
        await self._forget(target, action)
        await self.auditor.record(action, target, caller, outcome, Code.SUCCESS)

    async def _check_activator(
        self, target: Target, action: str, caller: str, *, any_pair: bool
    ) -> None:
        """Forbidden (audited) unless ``caller`` activated the pair or may act on any pair."""
        if any_pair:
            return
        activator = await self.activators.activator(target.aid)
        # A pair with no recorded activator (activated before activators were recorded, or
        # outside the gateway) is nobody's: only admin or deactivate_any keys may withdraw it.
        if caller and activator == caller:
            return
        await self.auditor.record(action, target, caller, "refused", None)
        log.info("activator_mismatch", action=action, key=mask_key(target.key), caller=caller)
        raise Forbidden(
            "only the API key that activated this license may do this, "
            "or a key with the deactivate_any or admin scope",
            type_="not-activator",
        )

    async def _forget(self, target: Target, action: str) -> None:
        """The pair is withdrawn at LAC: its license, job and activator record go, in one step
        with its webhook event."""
        kind = DEACTIVATED if action == "deactivation" else REMOVAL_CONFIRMED
        event = self.events.withdrawn(kind, target.aid, target.key, target.hostid)
        await self.steps.withdraw(target.aid, event=event)
