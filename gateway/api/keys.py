"""Typed application keys for every object the gateway's application shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.api.auth import KeyRing
from gateway.api.ports import ActivationService, IdempotencyStore
from gateway.api.ratelimit import RateLimiter
from gateway.api.spec import Endpoint
from gateway.metrics import Metrics
from gateway.settings import Settings

if TYPE_CHECKING:  # imported for the annotations only: these modules import this one
    from gateway.api.signing import Signer
    from gateway.jobs.poller import Poller
    from gateway.service import ActivationService as ConcreteService

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
HTTP_SESSION = web.AppKey("http_session", aiohttp.ClientSession)
# Protocols cannot be passed as the runtime type, so these keys are typed by annotation only.
SERVICE: web.AppKey[ActivationService] = web.AppKey("service")
IDEMPOTENCY_STORE: web.AppKey[IdempotencyStore] = web.AppKey("idempotency_store")
REDIS: web.AppKey[Redis | RedisCluster] = web.AppKey("redis")  # a union is no runtime type
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
# Set by setup_api itself.
KEY_RING = web.AppKey("key_ring", KeyRing)
OPENAPI_DOCUMENT = web.AppKey("openapi_document", bytes)
# Set by setup_routes: each route's endpoint by (method, path template), for the auth middleware.
ENDPOINTS: web.AppKey[Mapping[tuple[str, str], Endpoint]] = web.AppKey("endpoints")
SIGNER: web.AppKey[Signer] = web.AppKey("signer")
# Set by the application factory.
POLLER: web.AppKey[Poller] = web.AppKey("poller")
# The concrete service, for the poller and the counters refresh (routes see SERVICE's protocol).
ACTIVATIONS: web.AppKey[ConcreteService] = web.AppKey("activations")
