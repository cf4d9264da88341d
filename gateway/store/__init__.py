"""The gateway's Redis, one module per concern; ``create_stores`` builds them for one client.

``keys`` names every key, channel and TTL; ``scripts`` loads the Lua in ``lua/``; ``batch``
sends several commands in as few round trips as the deployment allows. Whether the client is
a Redis Cluster is decided here, once: it picks the batch runner and the activation steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.nearcache import NearCache
from gateway.settings import CacheSettings
from gateway.store.activations import ActivationSteps, ClusterActivationSteps
from gateway.store.activators import Activators
from gateway.store.audit import AuditTrail
from gateway.store.batch import create_batch
from gateway.store.health import Health
from gateway.store.idempotency import Idempotency
from gateway.store.jobs import Jobs
from gateway.store.keys import IDEMPOTENCY_LOCK_TTL, Keys
from gateway.store.lacpause import LacPause
from gateway.store.licenses import LicenseRecord, Licenses
from gateway.store.orders import Orders
from gateway.store.ratelimit import RateWindows
from gateway.store.revalidation import Revalidations
from gateway.store.tokens import Tokens
from gateway.store.webhooks import WebhookStore


@dataclass(frozen=True, slots=True)
class Stores:
    """One object per concern, all on one Redis client; each is handed to whoever uses it."""

    keys: Keys
    licenses: Licenses
    revalidations: Revalidations
    activators: Activators
    orders: Orders
    jobs: Jobs
    activations: ActivationSteps
    audit: AuditTrail
    idempotency: Idempotency
    rates: RateWindows
    tokens: Tokens
    health: Health
    lac_pause: LacPause
    webhooks: WebhookStore


def _check_client(redis: Redis | RedisCluster) -> None:
    if isinstance(redis, RedisCluster):
        options = redis.get_connection_kwargs()
    else:
        options = redis.connection_pool.connection_kwargs
    if options.get("decode_responses"):
        # Idempotent responses and license JSON are stored as bytes; decoding would mangle them.
        raise ValueError("the store needs a Redis client with decode_responses=False")


def create_stores(
    redis: Redis | RedisCluster,
    prefix: str,
    cache: CacheSettings,
    *,
    idempotency_lock_ttl: float = IDEMPOTENCY_LOCK_TTL,
    near: NearCache[LicenseRecord] | None = None,
) -> Stores:
    """Every store on ``redis`` under key ``prefix``; ValueError for a decoding client."""
    _check_client(redis)
    keys, batch = Keys(prefix), create_batch(redis)
    licenses = Licenses(redis, keys, batch, cache, near=near)
    jobs, audit = Jobs(redis, keys), AuditTrail(redis, keys)
    steps = ClusterActivationSteps if isinstance(redis, RedisCluster) else ActivationSteps
    return Stores(
        keys=keys,
        licenses=licenses,
        revalidations=Revalidations(redis, keys, licenses),
        activators=Activators(redis, keys, batch),
        orders=Orders(redis, keys, cache),
        jobs=jobs,
        activations=steps(redis, keys, batch, licenses=licenses, jobs=jobs, audit=audit),
        audit=audit,
        idempotency=Idempotency(redis, keys, cache, lock_ttl=idempotency_lock_ttl),
        rates=RateWindows(redis, keys),
        tokens=Tokens(redis, keys),
        health=Health(redis, keys),
        lac_pause=LacPause(redis, keys),
        webhooks=WebhookStore(redis, keys),
    )
