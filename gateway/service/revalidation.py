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
from gateway.store.keys import REVALIDATION_LOCK_TTL
from gateway.store.licenses import CachedLicense
from gateway.store.revalidation import Revalidations

log = structlog.get_logger("gateway.service")
QUIET_MAX_ENTRIES = 100_000  # pairs one process remembers having tried lately


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
        # Pairs this process is checking now, and until when it leaves each alone after a try
        # (the Redis lock is held that long anyway): a hot license costs Redis one SET NX per
        # lock period and process, not one per read, even while LAC is away.
        self._running: dict[str, asyncio.Task[None]] = {}
        self._quiet: dict[str, float] = {}

    def due(self, cached: CachedLicense) -> bool:
        """Whether ``cached`` is old enough to be checked again at LAC."""
        return self.clock() - cached.stored_at >= self.cache.revalidate_after

    def consider(self, target: Target, cached: CachedLicense) -> None:
        """Revalidate ``cached`` in the background if it is due and nobody here is at it."""
        if not self.due(cached) or target.aid in self._running:
            return
        now = time.monotonic()
        if self._quiet.get(target.aid, 0.0) > now:
            return
        self._leave_alone(target.aid, now)
        task = asyncio.create_task(self._revalidate(target, cached))
        self._running[target.aid] = task
        task.add_done_callback(lambda _: self._running.pop(target.aid, None))

    def _leave_alone(self, aid: str, now: float) -> None:
        """Try ``aid`` again from this process only once its lock would have expired."""
        if len(self._quiet) >= QUIET_MAX_ENTRIES:
            self._quiet = {k: until for k, until in self._quiet.items() if until > now}
            if len(self._quiet) >= QUIET_MAX_ENTRIES:
                self._quiet.clear()  # a burst of due licenses: forget, Redis's lock still holds
        self._quiet[aid] = now + REVALIDATION_LOCK_TTL

    def forget_tries(self) -> None:
        """Let every pair be tried again at once (tests that free the Redis locks)."""
        self._quiet.clear()

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
