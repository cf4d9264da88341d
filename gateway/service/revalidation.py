"""Refresh-ahead revalidation: a cached license older than ``cache.revalidate_after`` is
served at once and checked again at LAC in the background, by one replica at a time.

The check is a read (``GetLicense`` over SOAP, the license read over REST), never a create: it
cannot cost an activation. A license LAC still has is cached afresh; one it no longer has
(revoked or deactivated by the vendor) is dropped from Redis and from every replica's near
cache, so the next caller's activation goes to LAC as any first one does. A failed check
keeps the license; it is tried again once the single-flight lock expires.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from gateway.hostids import Target, mask_key
from gateway.lac.base import Lac, LacError
from gateway.metrics import Metrics
from gateway.service.shared import license_body
from gateway.settings import CacheSettings
from gateway.store.licenses import CachedLicense
from gateway.store.revalidation import Revalidations

log = structlog.get_logger("gateway.service")


class Revalidator:
    """Starts background revalidations of cached licenses and waits for them on close."""

    def __init__(
        self,
        lac: Lac,
        cache: CacheSettings,
        metrics: Metrics,
        *,
        revalidations: Revalidations,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lac = lac
        self.cache = cache
        self.metrics = metrics
        self.revalidations = revalidations
        self.clock = clock
        # Pairs this process is checking now: a hot license asks Redis for the lock once.
        self._running: dict[str, asyncio.Task[None]] = {}

    def due(self, cached: CachedLicense) -> bool:
        """Whether ``cached`` is old enough to be checked again at LAC."""
        return self.clock() - cached.stored_at >= self.cache.revalidate_after

    def consider(self, target: Target, cached: CachedLicense) -> None:
        """Revalidate ``cached`` in the background if it is due and nobody here is at it."""
        if not self.due(cached) or target.aid in self._running:
            return
        task = asyncio.create_task(self._revalidate(target, cached))
        self._running[target.aid] = task
        task.add_done_callback(lambda _: self._running.pop(target.aid, None))

    async def drain(self) -> None:
        """Wait for the revalidations under way (tests; shutdown cancels them instead)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def close(self) -> None:
        """Cancel the revalidations under way: the next read after a restart starts them again."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _revalidate(self, target: Target, cached: CachedLicense) -> None:
        try:
            if not await self.revalidations.claim(target.aid):
                return  # another replica (or an earlier, failed try) holds it
            outcome = await self._check(target, cached)
        except Exception as exc:  # noqa: BLE001 - a background task: log, never raise
            log.warning("license_revalidation_failed", error=type(exc).__name__)
            outcome = "failed"
        self.metrics.license_revalidations.labels(outcome).inc()
        log.info("license_revalidated", key=mask_key(target.key), outcome=outcome)

    async def _check(self, target: Target, cached: CachedLicense) -> str:
        """Ask LAC about one cached license and write what it said; the outcome's name."""
        try:
            issued = await self.lac.fetch(target.key, target.hostid)
        except LacError as exc:
            log.info("license_revalidation_refused", key=mask_key(target.key), code=exc.code)
            return "failed"
        if issued is None:
            written = await self.revalidations.drop(target.aid, cached.stored_at)
            return "dropped" if written else "superseded"
        body = license_body(issued)
        written = await self.revalidations.confirm(
            target.aid, cached.stored_at, body, now=self.clock(), origin=cached.origin
        )
        return "confirmed" if written else "superseded"
