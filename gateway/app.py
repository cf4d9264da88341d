"""The application factory: ``create_app(settings)`` builds the whole gateway, no globals.

One cleanup context per resource, in dependency order: HTTP session -> Redis -> near cache
(and its drop listener) -> stores -> LAC clients -> outcome listener -> services -> rate
limiter -> counters refresh -> webhook worker -> poller. aiohttp unwinds them in reverse, so
the poller stops and gives its leases back before the clients it uses are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog
from aiohttp import web
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from gateway.api import rendered, setup_api
from gateway.api.keys import (
    ACTIVATION_SERVICE,
    ADMIN_SERVICE,
    HTTP_SESSION,
    IDEMPOTENCY_STORE,
    LAC_CLIENTS,
    LICENSE_SERVICE,
    METRICS,
    NEAR_CACHE,
    OUTCOMES,
    POLLER,
    RATE_LIMITER,
    REDIS,
    RENDERED,
    SERVICES,
    SETTINGS,
    STORES,
    TRACE_CONFIGS,
    TRACER,
    WEBHOOK_ADMIN,
    WEBHOOK_WORKER,
)
from gateway.api.protocol import parser_limits
from gateway.api.ratelimit import RateLimiter
from gateway.cli_tools import package_version
from gateway.jobs.outcomes import OutcomeHub
from gateway.jobs.poller import Poller
from gateway.lac.factory import LacClients, create_lac
from gateway.lac.http import LacHttp
from gateway.lac.polling import LacRoute
from gateway.lac.resilience import ResilientLac, policies
from gateway.lac.rest import LacRestClient
from gateway.lac.vendor import TRANSPORT as VENDOR
from gateway.lac.vendor import LacVendorClient
from gateway.lac.wsdlsource import load_wsdls
from gateway.metrics import Metrics
from gateway.nearcache import NearCache, listen_for_drops
from gateway.redisconn import connect_redis
from gateway.service import AdminService, create_services
from gateway.settings import Settings
from gateway.store import create_stores
from gateway.store.keys import Keys
from gateway.store.licenses import LicenseRecord
from gateway.tracing import setup_tracing, trace_scripts

if TYPE_CHECKING:  # the SDK is imported only when tracing is on (gateway/tracing.py)
    from opentelemetry.sdk.trace import TracerProvider
from gateway.webhooks.admin import WebhookAdmin
from gateway.webhooks.worker import WebhookWorker

log = structlog.get_logger("gateway.app")

CANCEL_RETRY_SECONDS = 0.1
COUNTERS_FIRST_READ = 60.0  # seconds after start of the first activation counters read


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
    async with aiohttp.ClientSession(
        raise_for_status=False, trace_configs=app[TRACE_CONFIGS] or None
    ) as session:
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


async def near_cache_ctx(app: web.Application) -> AsyncIterator[None]:
    """This process's near cache of licenses and the listener that drops changed entries."""
    cache = app[SETTINGS].cache
    if cache.near_ttl <= 0 or cache.near_max_entries <= 0:
        app[NEAR_CACHE] = app[RENDERED] = None
        yield
        return
    near: NearCache[LicenseRecord] = NearCache(cache.near_ttl, cache.near_max_entries)
    app[NEAR_CACHE] = near
    app[RENDERED] = rendered.attach(near, app[METRICS])  # dropped with the entries
    channel = Keys(app[SETTINGS].redis.key_prefix).licenses_changed
    listener = _background(listen_for_drops(app[REDIS], channel, near), "near-cache-listener")
    yield
    await _cancel(listener)


async def stores_ctx(app: web.Application) -> AsyncIterator[None]:
    """Every store concern on the shared Redis client."""
    settings = app[SETTINGS]
    stores = create_stores(
        app[REDIS], settings.redis.key_prefix, settings.cache, near=app[NEAR_CACHE]
    )
    tracer = app[TRACER]
    if tracer is not None:
        trace_scripts(stores, tracer)
    app[STORES] = stores
    app[IDEMPOTENCY_STORE] = stores.idempotency
    yield


async def lac_ctx(app: web.Application) -> AsyncIterator[None]:
    """The LAC clients: end-user (SOAP or REST, WSDLs parsed off the event loop) and vendor."""
    settings, session, metrics = app[SETTINGS], app[HTTP_SESSION], app[METRICS]
    enduser_wsdl, vendor_wsdl = await load_wsdls(session, settings.lac)
    enduser, vendor_codec = enduser_wsdl.codec, vendor_wsdl.codec
    route = LacRoute(
        settings.lac.transport,
        fallback=settings.lac.rest_fallback,
        mismatches=enduser_wsdl.mismatches + vendor_wsdl.mismatches,
        wsdl_source=enduser_wsdl.source,
    )
    retry, breaker = policies(settings.resilience)
    lac = create_lac(
        session,
        settings.lac,
        enduser,
        metrics,
        resilient=settings.resilience.enabled,
        retry=retry,
        breaker=breaker,
        pause=app[STORES].lac_pause,
        route=route,
        tracer=app[TRACER],
    )
    vendor_http = LacHttp(
        session,
        settings.lac,
        transport=VENDOR,
        metrics=metrics,
        pause=app[STORES].lac_pause,
        tracer=app[TRACER],
    )
    vendor = LacVendorClient(
        session, settings.lac, vendor_codec, app[STORES].tokens, metrics, http=vendor_http
    )
    adapter = lac.inner if isinstance(lac, ResilientLac) else lac
    # REST answers order lookups itself; over SOAP they go through the vendor API.
    orders = adapter if isinstance(adapter, LacRestClient) else vendor
    app[LAC_CLIENTS] = LacClients(enduser=lac, vendor=vendor, orders=orders, route=route)
    yield


async def outcomes_ctx(app: web.Application) -> AsyncIterator[None]:
    """The outcome hub and its pub/sub listener, waking local waiters of any replica's jobs."""
    hub = app[OUTCOMES] = OutcomeHub(app[REDIS], app[STORES].keys)
    listener = _background(hub.run(), "outcome-listener")
    yield
    await _cancel(listener)


async def services_ctx(app: web.Application) -> AsyncIterator[None]:
    """The services the routes, the poller and the counters refresh call."""
    clients = app[LAC_CLIENTS]
    services = create_services(
        app[STORES],
        clients.enduser,
        app[SETTINGS],
        app[METRICS],
        app[OUTCOMES],
        orders=clients.orders,
        counters=clients.vendor,
        route=clients.route,
    )
    app[SERVICES] = services
    app[ACTIVATION_SERVICE], app[LICENSE_SERVICE], app[ADMIN_SERVICE] = (
        services.activations,
        services.licenses,
        services.admin,
    )
    near = app[NEAR_CACHE]
    if near is not None:  # licenses read all day are confirmed before their time runs out
        near.on_ending = services.licenses.renew_ahead
    yield
    if near is not None:
        near.on_ending = None
    await services.licenses.close()
    await services.revalidator.close()


async def limiter_ctx(app: web.Application) -> AsyncIterator[None]:
    """Per-caller rate limits; their last counts are sent to Redis on the way out."""
    settings = app[SETTINGS]
    limiter = app[RATE_LIMITER] = RateLimiter(app[STORES].rates, settings.limits.sync_interval)
    yield
    await limiter.close()


async def _refresh_counters(admin: AdminService, interval: float) -> None:
    # The first read waits a little too, so a fleet of replicas starting together does not
    # call the vendor API all at once; the admin counters route fills the gauge at any time.
    await asyncio.sleep(min(interval, COUNTERS_FIRST_READ))
    while True:
        try:
            await admin.counters()
        except Exception as exc:  # noqa: BLE001 - LAC away: the gauge keeps its last value
            log.warning("activation_counters_failed", error=type(exc).__name__)
        await asyncio.sleep(interval)


async def counters_ctx(app: web.Application) -> AsyncIterator[None]:
    """Keeps lacgw_lac_activations_left current; idle without vendor credentials."""
    lac = app[SETTINGS].lac
    if not (lac.username and lac.password.get_secret_value()):
        yield
        return
    task = _background(_refresh_counters(app[SERVICES].admin, lac.counters_interval), "counters")
    yield
    await _cancel(task)


async def poller_ctx(app: web.Application) -> AsyncIterator[None]:
    """The job poller; on shutdown it gives its leases back for another replica."""
    runner = app[SERVICES].runner
    poller = Poller(
        app[STORES].jobs,
        runner.handle_job,
        app[SETTINGS].jobs,
        owner=runner.owner,
        metrics=app[METRICS],
    )
    app[POLLER] = poller
    poller.start()
    yield
    await poller.stop()


async def webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    """The webhook worker and its own HTTP session (never LAC's); idle with no endpoints."""
    settings = app[SETTINGS].webhooks
    app[WEBHOOK_ADMIN] = WebhookAdmin(app[STORES].webhooks, settings)
    if not settings.all_endpoints():
        app[WEBHOOK_WORKER] = None
        yield
        return
    async with aiohttp.ClientSession(raise_for_status=False) as session:
        worker = WebhookWorker(
            app[STORES].webhooks,
            settings,
            app[METRICS],
            session,
            owner=app[SERVICES].runner.owner,
        )
        app[WEBHOOK_WORKER] = worker
        worker.start()
        yield
        await worker.stop()


def create_app(
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    tracer_provider: TracerProvider | None = None,
) -> web.Application:
    """The gateway application, configured by ``settings``, traced through ``tracer_provider``.

    Without a provider nothing of tracing is installed; whoever made the provider shuts it down.
    """
    app = web.Application(
        client_max_size=settings.http.max_body_bytes,
        handler_args=parser_limits(settings.limits),
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics or Metrics()
    app[METRICS].set_build_info(package_version(), settings.lac.transport)
    app.cleanup_ctx.extend(
        [
            http_session_ctx,
            redis_ctx,
            near_cache_ctx,
            stores_ctx,
            lac_ctx,
            outcomes_ctx,
            services_ctx,
            limiter_ctx,
            counters_ctx,
            webhooks_ctx,
            poller_ctx,
        ]
    )
    setup_api(app)
    setup_tracing(app, tracer_provider)  # after the API: its server span is the outermost
    return app
