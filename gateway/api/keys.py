"""Typed application keys for every object the gateway's application shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from opentelemetry.trace import Tracer
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.api.auth import KeyRing
from gateway.api.ports import Activations, Admin, IdempotencyStore, Licenses, Webhooks
from gateway.api.ratelimit import RateLimiter
from gateway.api.spec import Endpoint
from gateway.metrics import Metrics
from gateway.settings import Settings

if TYPE_CHECKING:  # imported for the annotations only: these modules import this one
    from gateway.api.hotpath import HotPath
    from gateway.api.keyreload import KeyReloader
    from gateway.api.rendered import RenderedCache
    from gateway.api.signing import Signer
    from gateway.jobs.outcomes import OutcomeHub
    from gateway.jobs.poller import Poller
    from gateway.lac.factory import LacClients
    from gateway.nearcache import NearCache
    from gateway.service import Services
    from gateway.store import Stores
    from gateway.store.licenses import LicenseRecord
    from gateway.webhooks.worker import WebhookWorker

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
HTTP_SESSION = web.AppKey("http_session", aiohttp.ClientSession)
# Protocols cannot be passed as the runtime type, so these keys are typed by annotation only.
ACTIVATION_SERVICE: web.AppKey[Activations] = web.AppKey("activations")
LICENSE_SERVICE: web.AppKey[Licenses] = web.AppKey("licenses")
ADMIN_SERVICE: web.AppKey[Admin] = web.AppKey("admin")
IDEMPOTENCY_STORE: web.AppKey[IdempotencyStore] = web.AppKey("idempotency_store")
REDIS: web.AppKey[Redis | RedisCluster] = web.AppKey("redis")  # a union is no runtime type
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
# Set by setup_api itself.
KEY_RING = web.AppKey("key_ring", KeyRing)
KEY_RELOADER: web.AppKey[KeyReloader] = web.AppKey("key_reloader")
OPENAPI_DOCUMENT = web.AppKey("openapi_document", bytes)
# Set by setup_routes: each route's endpoint by (method, path template), for the auth middleware.
ENDPOINTS: web.AppKey[Mapping[tuple[str, str], Endpoint]] = web.AppKey("endpoints")
SIGNER: web.AppKey[Signer] = web.AppKey("signer")
HOT_PATH: web.AppKey[HotPath] = web.AppKey("hot_path")
# Set by the application factory.
POLLER: web.AppKey[Poller] = web.AppKey("poller")
# Set by the application factory's cleanup contexts, one per resource.
NEAR_CACHE: web.AppKey[NearCache[LicenseRecord] | None] = web.AppKey("near_cache")
# Finished license answers of near-cache entries; None while the near cache is off.
RENDERED: web.AppKey[RenderedCache | None] = web.AppKey("rendered")
STORES: web.AppKey[Stores] = web.AppKey("stores")
LAC_CLIENTS: web.AppKey[LacClients] = web.AppKey("lac_clients")
OUTCOMES: web.AppKey[OutcomeHub] = web.AppKey("outcomes")
WEBHOOK_ADMIN: web.AppKey[Webhooks] = web.AppKey("webhook_admin")
WEBHOOK_WORKER: web.AppKey[WebhookWorker | None] = web.AppKey("webhook_worker")
# The concrete services, for the poller and the counters refresh (routes see the ports above).
SERVICES: web.AppKey[Services] = web.AppKey("services")
# Set by gateway.tracing.setup_tracing: None and no trace configs while tracing is off.
TRACER: web.AppKey[Tracer | None] = web.AppKey("tracer")
TRACE_CONFIGS: web.AppKey[list[aiohttp.TraceConfig]] = web.AppKey("trace_configs")

ServerHandler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
# What the server puts before the application's handler (``hotpath.front_door``).
FRONT_DOOR: web.AppKey[Callable[[web.Application, ServerHandler], ServerHandler]] = web.AppKey(
    "front_door"
)
