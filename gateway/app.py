"""The application factory: ``create_app(settings)`` builds the whole gateway, no globals.

Resources are cleanup contexts in dependency order (HTTP session -> Redis -> LAC clients and
service -> outcome listener -> counters refresh -> poller); aiohttp unwinds them in reverse, so
the poller stops and gives its leases back before the clients it uses are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from gateway.api import setup_api
from gateway.api.keys import (
    ACTIVATIONS,
    HTTP_SESSION,
    IDEMPOTENCY_STORE,
    METRICS,
    POLLER,
    RATE_LIMITER,
    REDIS,
    SERVICE,
    SETTINGS,
)
from gateway.api.protocol import parser_limits
from gateway.api.ratelimit import RateLimiter
from gateway.jobs.outcomes import OutcomeHub
from gateway.jobs.poller import Poller
from gateway.lac.base import OrderSummary
from gateway.lac.factory import create_lac, load_enduser_codec, load_vendor_codec
from gateway.lac.resilience import ResilientLac, policies
from gateway.lac.rest import LacRestClient
from gateway.lac.vendor import LacVendorClient
from gateway.metrics import Metrics
from gateway.nearcache import NearCache, listen_for_drops
from gateway.redisconn import connect_redis
from gateway.service import ActivationService, OrderSource
from gateway.settings import Settings
from gateway.store import create_stores
from gateway.store.licenses import LicenseRecord

log = structlog.get_logger("gateway.app")

CANCEL_RETRY_SECONDS = 0.1
COUNTERS_FIRST_READ = 60.0  # seconds after start of the first activation counters read


class VendorOrders:
    """Order lookups through the vendor SOAP API (SOAP transport)."""

    def __init__(self, vendor: LacVendorClient) -> None:
        self.vendor = vendor

    async def order(self, activation_key: str) -> OrderSummary | None:
        """The order with this key, via FindLicenseOrderByActivationKey."""
        return await self.vendor.find_order(activation_key)


def _background(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    return asyncio.create_task(coro, name=name)


async def _cancel(task: asyncio.Task[None]) -> None:
    # redis-py can swallow a cancellation that lands while a pub/sub connection is being set
    # up, and the task then blocks on its socket for good: ask again until it has ended.
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=CANCEL_RETRY_SECONDS)
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def http_session_ctx(app: web.Application) -> AsyncIterator[None]:
    """The one aiohttp client session toward LAC."""
    async with aiohttp.ClientSession(raise_for_status=False) as session:
        app[HTTP_SESSION] = session
        yield


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """The Redis client shared by every request and the poller."""
    redis = connect_redis(app[SETTINGS].redis)
    if isinstance(redis, RedisCluster):
        # Learn the slot map before any request: redis-py's first concurrent commands on a
        # cluster client that has not yet done so can trip over one another.
        try:
            await redis.initialize()
        except RedisError as exc:
            log.warning("redis_cluster_unreachable", error=type(exc).__name__)
    app[REDIS] = redis
    yield
    if isinstance(redis, RedisCluster):
        await redis.aclose()
    else:
        # A client built on an explicit pool leaves the pool open unless told otherwise.
        await redis.aclose(close_connection_pool=True)


async def service_ctx(app: web.Application) -> AsyncIterator[None]:
    """LAC clients (WSDLs parsed off the event loop), the store and the activation service."""
    settings, session, metrics = app[SETTINGS], app[HTTP_SESSION], app[METRICS]
    near: NearCache[LicenseRecord] | None = None
    if settings.cache.near_ttl > 0 and settings.cache.near_max_entries > 0:
        near = NearCache(settings.cache.near_ttl, settings.cache.near_max_entries)
    stores = create_stores(
        app[REDIS],
        settings.redis.key_prefix,
        settings.cache,
        near=near,
    )
    enduser, vendor_codec = await asyncio.gather(load_enduser_codec(), load_vendor_codec())
    retry, breaker = policies(settings.resilience)
    lac = create_lac(
        session,
        settings.lac,
        enduser,
        metrics,
        resilient=settings.resilience.enabled,
        retry=retry,
        breaker=breaker,
    )
    vendor = LacVendorClient(session, settings.lac, vendor_codec, stores.tokens, metrics)
    adapter = lac.inner if isinstance(lac, ResilientLac) else lac
    orders: OrderSource = adapter if isinstance(adapter, LacRestClient) else VendorOrders(vendor)
    hub = OutcomeHub(app[REDIS], stores.keys)
    service = ActivationService(
        lac,
        settings,
        metrics,
        hub,
        licenses=stores.licenses,
        activations=stores.activations,
        jobs=stores.jobs,
        activators=stores.activators,
        order_cache=stores.orders,
        audit=stores.audit,
        health=stores.health,
        orders=orders,
        counters=vendor,
    )
    app[SERVICE] = app[ACTIVATIONS] = service
    app[IDEMPOTENCY_STORE] = stores.idempotency
    limiter = app[RATE_LIMITER] = RateLimiter(stores.rates, settings.limits.sync_interval)
    listeners = [_background(hub.run(), "outcome-listener")]
    if near is not None:
        drops = listen_for_drops(app[REDIS], stores.keys.licenses_changed, near)
        listeners.append(_background(drops, "near-cache-listener"))
    yield
    for listener in listeners:
        await _cancel(listener)
    await limiter.close()


async def _refresh_counters(service: ActivationService, interval: float) -> None:
    # The first read waits a little too, so a fleet of replicas starting together does not
    # call the vendor API all at once; the admin counters route fills the gauge at any time.
    await asyncio.sleep(min(interval, COUNTERS_FIRST_READ))
    while True:
        try:
            await service.counters()
        except Exception as exc:  # noqa: BLE001 - LAC away: the gauge keeps its last value
            log.warning("activation_counters_failed", error=type(exc).__name__)
        await asyncio.sleep(interval)


async def counters_ctx(app: web.Application) -> AsyncIterator[None]:
    """Keeps lacgw_lac_activations_left current; idle without vendor credentials."""
    lac = app[SETTINGS].lac
    if not (lac.username and lac.password.get_secret_value()):
        yield
        return
    task = _background(_refresh_counters(app[ACTIVATIONS], lac.counters_interval), "counters")
    yield
    await _cancel(task)


async def poller_ctx(app: web.Application) -> AsyncIterator[None]:
    """The job poller; on shutdown it gives its leases back for another replica."""
    service = app[ACTIVATIONS]
    poller = Poller(
        service.job_queue,
        service.handle_job,
        app[SETTINGS].jobs,
        owner=service.owner,
        metrics=app[METRICS],
    )
    app[POLLER] = poller
    poller.start()
    yield
    await poller.stop()


def create_app(settings: Settings, *, metrics: Metrics | None = None) -> web.Application:
    """The gateway application, configured by ``settings``."""
    app = web.Application(
        client_max_size=settings.http.max_body_bytes,
        handler_args=parser_limits(settings.limits),
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics or Metrics()
    app.cleanup_ctx.extend([http_session_ctx, redis_ctx, service_ctx, counters_ctx, poller_ctx])
    setup_api(app)
    return app
