"""The application factory: ``create_app(settings)`` builds the whole gateway, no globals.

Resources are cleanup contexts in dependency order (HTTP session -> Redis -> LAC clients and
service -> outcome listener -> poller); aiohttp unwinds them in reverse, so the poller stops and
gives its leases back before the clients it uses are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from gateway.api import setup_api
from gateway.api.keys import (
    HTTP_SESSION,
    IDEMPOTENCY_STORE,
    METRICS,
    RATE_LIMITER,
    REDIS,
    SERVICE,
    SETTINGS,
)
from gateway.jobs.outcomes import OutcomeHub
from gateway.jobs.poller import Poller
from gateway.lac.base import OrderSummary
from gateway.lac.factory import create_lac, load_enduser_codec, load_vendor_codec
from gateway.lac.resilience import ResilientLac, policies
from gateway.lac.rest import LacRestClient
from gateway.lac.vendor import LacVendorClient
from gateway.metrics import Metrics
from gateway.service import ActivationService, OrderSource
from gateway.settings import Settings
from gateway.store import Store

log = structlog.get_logger("gateway.app")

POLLER = web.AppKey("poller", Poller)
ACTIVATIONS = web.AppKey("activations", ActivationService)  # the concrete service, for the poller
CANCEL_RETRY_SECONDS = 0.1


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
    """The Redis connection pool shared by every request and the poller."""
    cfg = app[SETTINGS].redis
    # A blocking pool: a burst of requests waits briefly for a connection instead of failing.
    pool = BlockingConnectionPool.from_url(
        cfg.url.get_secret_value(),
        max_connections=cfg.max_connections,
        timeout=cfg.pool_timeout,
        socket_timeout=cfg.socket_timeout,
        socket_connect_timeout=cfg.connect_timeout,
        health_check_interval=30,
    )
    redis = Redis(connection_pool=pool)
    app[REDIS] = redis
    yield
    # A client built on an explicit pool leaves the pool open unless told otherwise.
    await redis.aclose(close_connection_pool=True)


async def service_ctx(app: web.Application) -> AsyncIterator[None]:
    """LAC clients (WSDLs parsed off the event loop), the store and the activation service."""
    settings, session, metrics = app[SETTINGS], app[HTTP_SESSION], app[METRICS]
    store = Store(
        app[REDIS],
        settings.redis.key_prefix,
        settings.cache,
        stale_window=settings.cache.stale_window,
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
    vendor = LacVendorClient(session, settings.lac, vendor_codec, store, metrics)
    adapter = lac.inner if isinstance(lac, ResilientLac) else lac
    orders: OrderSource = adapter if isinstance(adapter, LacRestClient) else VendorOrders(vendor)
    hub = OutcomeHub(app[REDIS], settings.redis.key_prefix)
    service = ActivationService(store, lac, settings, metrics, hub, orders=orders, counters=vendor)
    app[SERVICE] = app[ACTIVATIONS] = service
    app[IDEMPOTENCY_STORE] = app[RATE_LIMITER] = store
    listener = _background(hub.run(), "outcome-listener")
    yield
    await _cancel(listener)


async def poller_ctx(app: web.Application) -> AsyncIterator[None]:
    """The job poller; on shutdown it gives its leases back for another replica."""
    service = app[ACTIVATIONS]
    poller = Poller(
        service.store,
        service.handle_job,
        app[SETTINGS].jobs,
        owner=service.owner,
        metrics=app[METRICS],
    )
    app[POLLER] = poller
    task = _background(poller.run(), "poller")
    yield
    await _cancel(task)
    await poller.stop()


def create_app(settings: Settings, *, metrics: Metrics | None = None) -> web.Application:
    """The gateway application, configured by ``settings``."""
    app = web.Application(client_max_size=settings.http.max_body_bytes)
    app[SETTINGS] = settings
    app[METRICS] = metrics or Metrics()
    app.cleanup_ctx.extend([http_session_ctx, redis_ctx, service_ctx, poller_ctx])
    setup_api(app)
    return app
